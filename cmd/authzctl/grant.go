package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newGrantCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grant",
		Short: "Authorize apps on APIs per stage (for --access authorized APIs)",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newGrantAddCmd(c), newGrantRevokeCmd(c), newGrantListCmd(c))
	return cmd
}

// grantTarget is the --api/--app/--stage triple of add and revoke.
type grantTarget struct{ api, app, stage string }

func (g *grantTarget) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.api, "api", "", "API id (required)")
	f.StringVar(&g.app, "app", "", "app id (required)")
	f.StringVar(&g.stage, "stage", authz.DefaultStage, "stage, as named by the proxy's context_extensions[\"stage\"]")
}

func (g *grantTarget) check(cmd *cobra.Command) error {
	if err := requireFlags(cmd, "api", "app"); err != nil {
		return err
	}
	if g.stage == "" || strings.ContainsFunc(g.stage, func(r rune) bool { return r <= ' ' || r == ':' || r == 0x7f }) {
		return usageErrorf("invalid --stage %q: give a name such as RELEASE, TEST or PRE", g.stage)
	}
	return nil
}

// grantNotFound tells which of API and app is missing, looking them up
// only once the store said one is.
func grantNotFound(ctx context.Context, st *store.Store, g grantTarget) error {
	if _, err := st.GetAPI(ctx, g.api); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("API %q not found: see 'authzctl api list'", g.api)
	}
	if _, err := st.GetApp(ctx, g.app); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("app %q not found: see 'authzctl app list'", g.app)
	}
	return fmt.Errorf("no grant of API %q to app %q for stage %s: see 'authzctl grant list --api %s'", g.api, g.app, g.stage, g.api)
}

func newGrantAddCmd(c *cli) *cobra.Command {
	var g grantTarget
	cmd := &cobra.Command{
		Use:   "add --api API --app ID [--stage RELEASE] [--expires RFC3339]",
		Short: "Authorize an app on an API for a stage (replaces an existing grant)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.check(cmd); err != nil {
				return err
			}
			exp, err := parseExpires(cmd)
			if err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				info := store.GrantInfo{API: g.api, AppID: g.app, Stage: g.stage, ExpiresAt: exp}
				err = st.AddGrant(ctx, info)
				if errors.Is(err, store.ErrNotFound) {
					return grantNotFound(ctx, st, g)
				}
				if err != nil {
					return fmt.Errorf("grant add: %w", err)
				}
				return c.emit(info, func(t *tableWriter) {
					t.fields("API", info.API, "APP ID", info.AppID, "STAGE", info.Stage, "EXPIRES", expiryCell(info.ExpiresAt))
				})
			})
		},
	}
	g.register(cmd)
	cmd.Flags().String("expires", "", "when the grant ends, RFC 3339; a past time ends it at once (default: never)")
	return cmd
}

// grantRevokedJSON is the answer of grant revoke.
type grantRevokedJSON struct {
	API     string `json:"api"`
	AppID   string `json:"app_id"`
	Stage   string `json:"stage"`
	Revoked bool   `json:"revoked"`
}

func newGrantRevokeCmd(c *cli) *cobra.Command {
	var g grantTarget
	cmd := &cobra.Command{
		Use:   "revoke --api API --app ID [--stage S]",
		Short: "Withdraw an app's grant on an API for a stage",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.check(cmd); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				err := st.RevokeGrant(ctx, g.api, g.app, g.stage)
				if errors.Is(err, store.ErrNotFound) {
					return grantNotFound(ctx, st, g)
				}
				if err != nil {
					return fmt.Errorf("grant revoke: %w", err)
				}
				out := grantRevokedJSON{API: g.api, AppID: g.app, Stage: g.stage, Revoked: true}
				return c.emit(out, func(t *tableWriter) {
					t.fields("API", out.API, "APP ID", out.AppID, "STAGE", out.Stage, "REVOKED", "yes")
				})
			})
		},
	}
	g.register(cmd)
	return cmd
}

func newGrantListCmd(c *cli) *cobra.Command {
	var apiID string
	cmd := &cobra.Command{
		Use:   "list --api API",
		Short: "List the grants of an API, every stage",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "api"); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				grants, err := st.ListGrants(ctx, apiID)
				if err != nil {
					return apiError("grant list --api", apiID, err)
				}
				grants = nonNil(grants)
				return c.emit(struct {
					Grants []store.GrantInfo `json:"grants"`
				}{grants}, func(t *tableWriter) {
					t.row("API", "APP ID", "STAGE", "EXPIRES", "STATE")
					now := time.Now()
					for _, g := range grants {
						state := "active"
						if authz.ExpiryOf(g.ExpiresAt).Passed(now) {
							state = "expired"
						}
						t.row(g.API, g.AppID, g.Stage, expiryCell(g.ExpiresAt), state)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&apiID, "api", "", "API id (required)")
	return cmd
}
