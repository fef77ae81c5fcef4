package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newAppCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Create, list, show, disable, enable and delete apps",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newAppCreateCmd(c), newAppListCmd(c), newAppShowCmd(c),
		newAppStatusCmd(c, "disable", authz.StatusDisabled),
		newAppStatusCmd(c, "enable", authz.StatusActive),
		newAppDeleteCmd(c))
	return cmd
}

func newAppCreateCmd(c *cli) *cobra.Command {
	var p store.CreateAppParams
	var methods string
	cmd := &cobra.Command{
		Use:   "create --name N [--id ID] [--key K --secret S] [--appcode C] [--methods M,...]",
		Short: "Create an app with a key and an AppCode (printed once)",
		Long: `Create an app with one app_key/app_secret pair and an AppCode.

Credentials not given are generated. The app_secret and the AppCode are
printed only now: they are stored so they cannot be shown again (the AppCode
only as a hash). Give --key and --secret (and --appcode) to import
credentials from another gateway; an imported --key usable with the key
method needs at least 16 characters. --methods restricts the first key as
'authzctl key create --methods' does. The key's key_id is its public name.`,
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.secret(p.Secret)
			c.secret(p.AppCode)
			c.secret(p.Key)
			if err := requireFlags(cmd, "name"); err != nil {
				return err
			}
			if err := pairedFlags(cmd, "key", "secret"); err != nil {
				return err
			}
			if cmd.Flags().Changed("id") {
				if err := checkID("id", p.ID); err != nil {
					return err
				}
			}
			if err := checkImported(cmd, "key", "secret", "appcode"); err != nil {
				return err
			}
			var err error
			if p.KeyMethods, err = keyMethods(methods); err != nil {
				return err
			}
			if err := checkKeyLength("key", p.Key, p.KeyMethods); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				created, err := st.CreateApp(ctx, p)
				if errors.Is(err, store.ErrExists) {
					return appExistsError(ctx, st, p)
				}
				if err != nil {
					return fmt.Errorf("app create: %w", err)
				}
				return c.emit(created, func(t *tableWriter) {
					t.fields("APP ID", created.AppID, "NAME", created.Name, "KEY ID", created.KeyID,
						"APP KEY", created.AppKey, "APP SECRET", created.AppSecret, "APPCODE", created.AppCode)
					t.note("Keep the app_secret and the AppCode now: authzctl cannot show them again.")
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Name, "name", "", "display name of the app (required)")
	f.StringVar(&p.ID, "id", "", "app id (default: generated)")
	f.StringVar(&p.Key, "key", "", "import this app_key (with --secret)")
	f.StringVar(&p.Secret, "secret", "", "import this app_secret (with --key)")
	f.StringVar(&p.AppCode, "appcode", "", "import this AppCode (default: generated)")
	f.StringVar(&methods, "methods", "", "auth methods the first key may be used with: key, hmac, paramsign, oauth2, xca (default: all the API accepts)")
	return cmd
}

// appExistsError says which of the given identifiers is taken, looking the
// id up only now that the create failed.
func appExistsError(ctx context.Context, st *store.Store, p store.CreateAppParams) error {
	if p.ID != "" {
		if _, err := st.GetApp(ctx, p.ID); err == nil {
			return fmt.Errorf("app %q already exists: choose another --id, or see 'authzctl app show %s'", p.ID, p.ID)
		}
	}
	if p.Key != "" {
		return errors.New("the app_key or the AppCode given is already in use: choose another --key or --appcode")
	}
	if p.AppCode != "" {
		return errors.New("the AppCode given is already in use: choose another --appcode")
	}
	return errors.New("a generated credential collided with an existing one: run the command again")
}

func newAppListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List apps (never their secrets)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				apps, err := st.ListApps(ctx)
				if err != nil {
					return fmt.Errorf("app list: %w", err)
				}
				apps = nonNil(apps)
				for i := range apps {
					apps[i].Keys = nonNil(apps[i].Keys)
				}
				return c.emit(struct {
					Apps []store.AppInfo `json:"apps"`
				}{apps}, func(t *tableWriter) {
					t.row("APP ID", "NAME", "STATUS", "KEYS", "APPCODE", "CREATED")
					for _, a := range apps {
						t.row(a.AppID, a.Name, a.Status, list(a.Keys), yesNo(a.HasAppCode), timeCell(a.CreatedAt))
					}
				})
			})
		},
	}
}

func newAppShowCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an app and its keys (never its secrets)",
		Args:  argNames("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				a, err := st.GetApp(ctx, args[0])
				if err != nil {
					return appError("app show", args[0], err)
				}
				a.Keys = nonNil(a.Keys)
				return c.emit(a, func(t *tableWriter) {
					t.fields("APP ID", a.AppID, "NAME", a.Name, "STATUS", a.Status,
						"KEYS", list(a.Keys), "APPCODE", yesNo(a.HasAppCode), "CREATED", timeCell(a.CreatedAt))
				})
			})
		},
	}
}

func newAppStatusCmd(c *cli, verb string, status authz.Status) *cobra.Command {
	short := "Disable an app: every credential of it is refused (AppDisabled)"
	if status == authz.StatusActive {
		short = "Enable a disabled app"
	}
	return &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  argNames("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.SetAppStatus(ctx, args[0], status); err != nil {
					return appError("app "+verb, args[0], err)
				}
				out := appStatusJSON{AppID: args[0], Status: string(status)}
				return c.emit(out, func(t *tableWriter) { t.fields("APP ID", out.AppID, "STATUS", out.Status) })
			})
		},
	}
}

func newAppDeleteCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an app with its keys, AppCode, grants and tokens",
		Long: `Delete an app with its keys, AppCode, grants and tokens.

Its app_keys are free afterwards and can be imported again.`,
		Args: argNames("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if err := st.DeleteApp(ctx, args[0]); err != nil {
					return appError("app delete", args[0], err)
				}
				out := appDeletedJSON{AppID: args[0], Deleted: true}
				return c.emit(out, func(t *tableWriter) { t.fields("APP ID", out.AppID, "DELETED", "yes") })
			})
		},
	}
}

// appError turns a store error about app id into a line that says what to
// do next.
func appError(op, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("app %q not found: see 'authzctl app list'", id)
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}
