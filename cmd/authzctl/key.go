package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func newKeyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Create, list, revoke, disable and enable app keys",
		RunE:  groupRunE,
	}
	cmd.AddCommand(newKeyCreateCmd(c), newKeyListCmd(c), newKeyRevokeCmd(c),
		newKeyStatusCmd(c, "disable", authz.StatusDisabled),
		newKeyStatusCmd(c, "enable", authz.StatusActive))
	return cmd
}

func newKeyCreateCmd(c *cli) *cobra.Command {
	var p store.CreateKeyParams
	var scopes string
	cmd := &cobra.Command{
		Use:   "create --app ID [--key K --secret S] [--scopes a,b] [--expires RFC3339]",
		Short: "Add an app_key/app_secret pair to an app (secret printed once)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.secret(p.Secret)
			if err := requireFlags(cmd, "app"); err != nil {
				return err
			}
			if err := pairedFlags(cmd, "key", "secret"); err != nil {
				return err
			}
			if err := checkImported(cmd, "key", "secret"); err != nil {
				return err
			}
			var err error
			if p.Scopes, err = scopeList(scopes); err != nil {
				return err
			}
			if p.ExpiresAt, err = parseExpires(cmd); err != nil {
				return err
			}
			st, err := c.store(cmd.Context())
			if err != nil {
				return err
			}
			created, err := st.CreateKey(cmd.Context(), p)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("app %q not found: create it with 'authzctl app create' or see 'authzctl app list'", p.AppID)
			case errors.Is(err, store.ErrExists) && p.Key != "":
				return fmt.Errorf("app_key %q is already in use: choose another --key, or delete the app that holds it", p.Key)
			case errors.Is(err, store.ErrExists):
				return errors.New("a generated app_key collided with an existing one: run the command again")
			case err != nil:
				return fmt.Errorf("key create: %w", err)
			}
			created.Scopes = nonNil(created.Scopes)
			return c.emit(created, func(t *tableWriter) {
				t.fields("APP ID", created.AppID, "APP KEY", created.AppKey,
					"APP SECRET", created.AppSecret, "SCOPES", list(created.Scopes))
				t.note("Keep the app_secret now: authzctl cannot show it again.")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.AppID, "app", "", "app id (required)")
	f.StringVar(&p.Key, "key", "", "import this app_key (with --secret; default: generated)")
	f.StringVar(&p.Secret, "secret", "", "import this app_secret (with --key)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes the key holds")
	f.String("expires", "", "when the key stops working, RFC 3339; a past time ends it at once (default: never)")
	return cmd
}

func newKeyListCmd(c *cli) *cobra.Command {
	var appID string
	cmd := &cobra.Command{
		Use:   "list --app ID",
		Short: "List an app's keys (never their secrets)",
		Args:  argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlags(cmd, "app"); err != nil {
				return err
			}
			st, err := c.store(cmd.Context())
			if err != nil {
				return err
			}
			keys, err := st.ListKeys(cmd.Context(), appID)
			if err != nil {
				return appError("key list --app", appID, err)
			}
			keys = nonNil(keys)
			for i := range keys {
				keys[i].Scopes = nonNil(keys[i].Scopes)
			}
			return c.emit(struct {
				Keys []store.KeyInfo `json:"keys"`
			}{keys}, func(t *tableWriter) {
				t.row("APP KEY", "APP ID", "SCOPES", "STATUS", "EXPIRES", "CREATED")
				for _, k := range keys {
					t.row(k.AppKey, k.AppID, list(k.Scopes), k.Status, expiryCell(k.ExpiresAt), timeCell(k.CreatedAt))
				}
			})
		},
	}
	cmd.Flags().StringVar(&appID, "app", "", "app id (required)")
	return cmd
}

func newKeyRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY",
		Short: "Revoke an app_key for good (its tokens stop working too)",
		Args:  argNames("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := c.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.RevokeKey(cmd.Context(), args[0]); err != nil {
				return keyError("key revoke", args[0], err)
			}
			out := keyRevokedJSON{AppKey: args[0], Revoked: true}
			return c.emit(out, func(t *tableWriter) { t.fields("APP KEY", out.AppKey, "REVOKED", "yes") })
		},
	}
}

func newKeyStatusCmd(c *cli, verb string, status authz.Status) *cobra.Command {
	short := "Disable an app_key until it is enabled again (AppDisabled)"
	if status == authz.StatusActive {
		short = "Enable a disabled app_key"
	}
	return &cobra.Command{
		Use:   verb + " KEY",
		Short: short,
		Args:  argNames("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := c.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.SetKeyStatus(cmd.Context(), args[0], status); err != nil {
				return keyError("key "+verb, args[0], err)
			}
			out := keyStatusJSON{AppKey: args[0], Status: string(status)}
			return c.emit(out, func(t *tableWriter) { t.fields("APP KEY", out.AppKey, "STATUS", out.Status) })
		},
	}
}

func keyError(op, key string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("app_key %q not found: see 'authzctl key list --app ID'", key)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
