package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newAPICmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Create, list, show, update and delete protected APIs",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newAPICreateCmd(c), newAPIListCmd(c), newAPIShowCmd(c), newAPIUpdateCmd(c), newAPIDeleteCmd(c))
	return cmd
}

// apiJSON is how an API prints with -o json; authz.API carries no JSON
// names because the core does not serialize.
type apiJSON struct {
	API               string         `json:"api"`
	Methods           []authz.Method `json:"methods"`
	AppCodeMode       string         `json:"appcode_mode"`
	Access            string         `json:"access"`
	ClockSkew         string         `json:"clock_skew"`
	Scopes            []string       `json:"scopes"`
	MethodScopes      string         `json:"method_scopes,omitempty"` // as --method-scopes takes it
	HMACAlgorithms    []string       `json:"hmac_algorithms"`
	EnforceHeaders    []string       `json:"enforce_headers"`
	ReplayProtection  bool           `json:"replay_protection"`
	TimestampRequired bool           `json:"timestamp_required"`
	XCATimestamp      string         `json:"xca_timestamp"`
	XCANonce          string         `json:"xca_nonce"`
	Route             *routeJSON     `json:"route,omitempty"`
	Limits            limitsJSON     `json:"limits"`
	AppLimits         []appLimitJSON `json:"app_limits,omitempty"` // api show only
}

type routeJSON struct {
	Host       string   `json:"host"`
	PathPrefix string   `json:"path_prefix"`
	Methods    []string `json:"methods"`
}

func toAPIJSON(a authz.API) apiJSON {
	out := apiJSON{
		API:               a.ID,
		Methods:           nonNil(a.Methods),
		AppCodeMode:       string(a.AppCodeMode),
		Access:            string(a.Access),
		ClockSkew:         a.ClockSkew.String(),
		Scopes:            nonNil(a.Scopes),
		MethodScopes:      authz.FormatMethodScopes(a.MethodScopes),
		HMACAlgorithms:    nonNil(a.HMACAlgorithms),
		EnforceHeaders:    nonNil(a.EnforceHeaders),
		ReplayProtection:  a.ReplayProtection,
		TimestampRequired: a.TimestampRequired,
		XCATimestamp:      string(xcaTimestampOf(a)),
		XCANonce:          string(xcaNonceOf(a)),
		Limits:            toLimitsJSON(a.Limits),
	}
	if r := a.Route; r.Host != "" || r.PathPrefix != "" || len(r.Methods) > 0 {
		out.Route = &routeJSON{Host: r.Host, PathPrefix: r.PathPrefix, Methods: nonNil(r.Methods)}
	}
	return out
}

func routeCell(r *routeJSON) string {
	if r == nil {
		return "-"
	}
	host, prefix, methods := r.Host, r.PathPrefix, list(r.Methods)
	if host == "" {
		host = "*"
	}
	if prefix == "" {
		prefix = "/"
	}
	if methods == "" {
		return host + prefix
	}
	return methods + " " + host + prefix
}

func methodsCell(ms []authz.Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return list(s)
}

func showAPI(t *tableWriter, a apiJSON) {
	algs := list(a.HMACAlgorithms)
	if algs == "" {
		algs = "(all)"
	}
	t.fields("API", a.API, "METHODS", methodsCell(a.Methods), "APPCODE MODE", a.AppCodeMode,
		"ACCESS", a.Access, "ROUTE", routeCell(a.Route), "CLOCK SKEW", a.ClockSkew,
		"SCOPES", list(a.Scopes), "HMAC ALGORITHMS", algs, "ENFORCE HEADERS", list(a.EnforceHeaders),
		"REPLAY PROTECTION", yesNo(a.ReplayProtection), "TIMESTAMP REQUIRED", yesNo(a.TimestampRequired),
		"XCA TIMESTAMP", a.XCATimestamp, "XCA NONCE", a.XCANonce)
	showLimits(t, a)
}

func newAPICreateCmd(c *cli) *cobra.Command {
	var id string
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "create --id API --methods appcode,key,hmac,paramsign,oauth2,xca [flags]",
		Short: "Create a protected API",
		Long: `Create a protected API: which auth methods it accepts, whether callers
need a grant (--access authorized, the default), and optionally a route
(--host, --path-prefix, --route-methods) to find it by when the proxy names
no API.`,
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "id", "methods"); err != nil {
				return err
			}
			if err := checkID("id", id); err != nil {
				return err
			}
			api := newAPI(id)
			if err := f.apply(cmd, &api); err != nil {
				return err
			}
			if !cmd.Flags().Changed("clock-skew") && api.Allows(authz.MethodXCA) {
				api.ClockSkew = authz.XCADefaultClockSkew // Alibaba's window
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.CreateAPI(ctx, api); err != nil {
					return apiCreateError(ctx, st, id, err)
				}
				out := toAPIJSON(api)
				return c.emit(out, func(t *tableWriter) { showAPI(t, out) })
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "API id, as named by the proxy's context_extensions[\"api\"] (required)")
	f.register(cmd.Flags(), true)
	return cmd
}

func apiCreateError(ctx context.Context, st *store.Store, id string, err error) error {
	if errors.Is(err, store.ErrExists) {
		if _, gerr := st.GetAPI(ctx, id); gerr == nil {
			return fmt.Errorf("API %q already exists: change it with 'authzctl api update %s', or choose another --id", id, id)
		}
		return fmt.Errorf("api create %s: %w: choose another --host/--path-prefix, see 'authzctl api list'", id, err)
	}
	return fmt.Errorf("api create %s: %w", id, err)
}

func newAPIListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List APIs",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				apis, err := st.ListAPIs(ctx)
				if err != nil {
					return fmt.Errorf("api list: %w", err)
				}
				out := make([]apiJSON, len(apis))
				for i, a := range apis {
					out[i] = toAPIJSON(a)
				}
				return c.emit(struct {
					APIs []apiJSON `json:"apis"`
				}{out}, func(t *tableWriter) {
					t.row("API", "METHODS", "APPCODE MODE", "ACCESS", "ROUTE", "SCOPES")
					for _, a := range out {
						t.row(a.API, methodsCell(a.Methods), a.AppCodeMode, a.Access, routeCell(a.Route), list(a.Scopes))
					}
				})
			})
		},
	}
}

func newAPIShowCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "show API",
		Short: "Show an API",
		Args:  argNames("API"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				api, err := st.GetAPI(ctx, args[0])
				if err != nil {
					return apiError("api show", args[0], err)
				}
				out := toAPIJSON(api)
				own, err := st.ListAppLimits(ctx, args[0])
				if err != nil {
					return apiError("api show", args[0], err)
				}
				out.AppLimits = appLimitsJSON(own)
				return c.emit(out, func(t *tableWriter) { showAPI(t, out) })
			})
		},
	}
}

func newAPIUpdateCmd(c *cli) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "update API [flags]",
		Short: "Change an API: only the flags given change, the rest is kept",
		Args:  argNames("API"),
		RunE: func(cmd *cobra.Command, args []string) error {
			given := false
			cmd.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) { given = given || fl.Changed })
			if !given {
				return usageErrorf("api update %s: give at least one flag to change", args[0])
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				api, err := st.GetAPI(ctx, args[0])
				if err != nil {
					return apiError("api update", args[0], err)
				}
				if err := f.apply(cmd, &api); err != nil {
					return err
				}
				if err := st.UpdateAPI(ctx, api); err != nil {
					return apiError("api update", args[0], err)
				}
				out := toAPIJSON(api)
				return c.emit(out, func(t *tableWriter) { showAPI(t, out) })
			})
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

// apiDeletedJSON is the answer of api delete.
type apiDeletedJSON struct {
	API     string `json:"api"`
	Deleted bool   `json:"deleted"`
}

func newAPIDeleteCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "delete API",
		Short: "Delete an API with its route and grants",
		Args:  argNames("API"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.DeleteAPI(ctx, args[0]); err != nil {
					return apiError("api delete", args[0], err)
				}
				out := apiDeletedJSON{API: args[0], Deleted: true}
				return c.emit(out, func(t *tableWriter) { t.fields("API", out.API, "DELETED", "yes") })
			})
		},
	}
}

func apiError(op, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("API %q not found: see 'authzctl api list'", id)
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}
