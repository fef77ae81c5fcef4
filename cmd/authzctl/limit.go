package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newLimitCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "limit",
		Short: "Give an app its own traffic limits on an API (replacing the API's)",
		Long: `An API's limits (api create/update --rate, --burst, --quota) apply to each
app separately. limit set gives one app its own limits on an API instead:
they replace the API's limits whole for that app, so give every limit the
app should have (--rate none --quota none makes it unlimited there).`,
		RunE: groupRunE,
	}
	cmd.AddCommand(newLimitSetCmd(c), newLimitShowCmd(c), newLimitListCmd(c), newLimitDeleteCmd(c))
	return cmd
}

// appLimitJSON is one app's limits on an API. Source says whose limits
// apply: "app" (its own) or "api" (the API's, shared by apps without own).
type appLimitJSON struct {
	API    string `json:"api,omitempty"`
	AppID  string `json:"app_id"`
	Source string `json:"source,omitempty"`
	limitsJSON
}

func showAppLimit(t *tableWriter, l appLimitJSON) {
	rate, burst, quota := limitCells(l.limitsJSON)
	t.fields("API", l.API, "APP ID", l.AppID, "SOURCE", l.Source, "RATE", rate, "BURST", burst, "QUOTA", quota)
}

// limitTarget is the --api/--app pair of set, show and delete.
type limitTarget struct{ api, app string }

func (g *limitTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.api, "api", "", "API id (required)")
	cmd.Flags().StringVar(&g.app, "app", "", "app id (required)")
}

// notFound tells which of API and app is missing.
func (g limitTarget) notFound(ctx context.Context, st *store.Store, err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, gerr := st.GetAPI(ctx, g.api); errors.Is(gerr, store.ErrNotFound) {
		return fmt.Errorf("API %q not found: see 'authzctl api list'", g.api)
	}
	if _, gerr := st.GetApp(ctx, g.app); errors.Is(gerr, store.ErrNotFound) {
		return fmt.Errorf("app %q not found: see 'authzctl app list'", g.app)
	}
	return err
}

func newLimitSetCmd(c *cli) *cobra.Command {
	var g limitTarget
	var f limitFlags
	cmd := &cobra.Command{
		Use:   "set --api API --app ID [--rate R] [--burst B] [--quota Q]",
		Short: "Give an app its own limits on an API (replaces its previous ones)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "api", "app"); err != nil {
				return err
			}
			if !f.given(cmd) {
				return usageErrorf("limit set: give --rate and/or --quota (--rate none --quota none makes the app unlimited on the API)")
			}
			var l authz.Limits
			if err := f.apply(cmd, &l); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.SetAppLimits(ctx, g.api, g.app, l); err != nil {
					return fmt.Errorf("limit set: %w", g.notFound(ctx, st, err))
				}
				out := appLimitJSON{API: g.api, AppID: g.app, Source: "app", limitsJSON: toLimitsJSON(l)}
				return c.emit(out, func(t *tableWriter) { showAppLimit(t, out) })
			})
		},
	}
	g.register(cmd)
	f.register(cmd.Flags(), "")
	return cmd
}

func newLimitShowCmd(c *cli) *cobra.Command {
	var g limitTarget
	cmd := &cobra.Command{
		Use:   "show --api API --app ID",
		Short: "Show the limits that apply to an app on an API, and whose they are",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "api", "app"); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				api, err := st.GetAPI(ctx, g.api)
				if err != nil {
					return apiError("limit show", g.api, err)
				}
				if _, err := st.GetApp(ctx, g.app); errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("app %q not found: see 'authzctl app list'", g.app)
				} else if err != nil {
					return fmt.Errorf("limit show: %w", err)
				}
				own, ok, err := st.GetAppLimits(ctx, g.api, g.app)
				if err != nil {
					return fmt.Errorf("limit show: %w", err)
				}
				out := appLimitJSON{API: g.api, AppID: g.app, Source: "api", limitsJSON: toLimitsJSON(api.Limits)}
				if ok {
					out.Source, out.limitsJSON = "app", toLimitsJSON(own)
				}
				return c.emit(out, func(t *tableWriter) { showAppLimit(t, out) })
			})
		},
	}
	g.register(cmd)
	return cmd
}

// limitListJSON is the answer of limit list.
type limitListJSON struct {
	API       string         `json:"api"`
	APILimits limitsJSON     `json:"api_limits"`
	Apps      []appLimitJSON `json:"apps"`
}

func newLimitListCmd(c *cli) *cobra.Command {
	var apiID string
	cmd := &cobra.Command{
		Use:   "list --api API",
		Short: "List an API's limits and the apps with limits of their own on it",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "api"); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				api, err := st.GetAPI(ctx, apiID)
				if err != nil {
					return apiError("limit list --api", apiID, err)
				}
				own, err := st.ListAppLimits(ctx, apiID)
				if err != nil {
					return apiError("limit list --api", apiID, err)
				}
				out := limitListJSON{API: apiID, APILimits: toLimitsJSON(api.Limits), Apps: appLimitsJSON(own)}
				return c.emit(out, func(t *tableWriter) {
					t.row("APP ID", "SOURCE", "RATE", "BURST", "QUOTA")
					rate, burst, quota := limitCells(out.APILimits)
					t.row("(every other app)", "api", rate, burst, quota)
					for _, a := range out.Apps {
						rate, burst, quota := limitCells(a.limitsJSON)
						t.row(a.AppID, "app", rate, burst, quota)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&apiID, "api", "", "API id (required)")
	return cmd
}

func appLimitsJSON(own []store.AppLimits) []appLimitJSON {
	out := make([]appLimitJSON, len(own))
	for i, a := range own {
		out[i] = appLimitJSON{AppID: a.AppID, limitsJSON: toLimitsJSON(a.Limits)}
	}
	return out
}

// limitDeletedJSON is the answer of limit delete.
type limitDeletedJSON struct {
	API     string `json:"api"`
	AppID   string `json:"app_id"`
	Deleted bool   `json:"deleted"`
}

func newLimitDeleteCmd(c *cli) *cobra.Command {
	var g limitTarget
	cmd := &cobra.Command{
		Use:   "delete --api API --app ID",
		Short: "Remove an app's own limits on an API: the API's apply to it again",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "api", "app"); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.DeleteAppLimits(ctx, g.api, g.app); err != nil {
					return g.notFound(ctx, st, err)
				}
				out := limitDeletedJSON{API: g.api, AppID: g.app, Deleted: true}
				return c.emit(out, func(t *tableWriter) { t.fields("API", out.API, "APP ID", out.AppID, "DELETED", "yes") })
			})
		},
	}
	g.register(cmd)
	return cmd
}
