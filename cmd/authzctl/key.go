package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
	var scopes, methods string
	cmd := &cobra.Command{
		Use:   "create --app ID [--key K --secret S] [--scopes a,b] [--expires RFC3339] [--methods hmac,paramsign,oauth2]",
		Short: "Add an app_key/app_secret pair to an app (secret printed once)",
		Long: `Add an app_key/app_secret pair to an app.

The key gets a key_id, its public name: authzd sends it upstream in
x-appauthz-key and logs it, and key list/revoke/disable/enable take it.
The app_key itself is stored only as a hash.

--methods restricts the key to some auth methods (key, hmac, paramsign,
oauth2, xca; default: every method the API accepts). On an API that accepts
key, the app_key alone is a credential, so a signing key whose app_key
travels in clear should be created with --methods hmac,paramsign,oauth2.
An imported --key usable with the key method needs at least 16 characters
(import a short Alibaba Cloud AppKey with --methods xca).`,
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.secret(p.Secret)
			c.secret(p.Key)
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
			if p.Methods, err = keyMethods(methods); err != nil {
				return err
			}
			if err := checkKeyLength("key", p.Key, p.Methods); err != nil {
				return err
			}
			if p.Scopes, err = scopeList(scopes); err != nil {
				return err
			}
			if p.ExpiresAt, err = parseExpires(cmd); err != nil {
				return err
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				created, err := st.CreateKey(ctx, p)
				switch {
				case errors.Is(err, store.ErrNotFound):
					return fmt.Errorf("app %q not found: create it with 'authzctl app create' or see 'authzctl app list'", p.AppID)
				case errors.Is(err, store.ErrExists) && p.Key != "":
					return errors.New("the app_key given is already in use: choose another --key, or delete the app that holds it")
				case errors.Is(err, store.ErrExists):
					return errors.New("a generated app_key collided with an existing one: run the command again")
				case err != nil:
					return fmt.Errorf("key create: %w", err)
				}
				created.Scopes = nonNil(created.Scopes)
				created.Methods = nonNil(created.Methods)
				return c.emit(created, func(t *tableWriter) {
					t.fields("APP ID", created.AppID, "KEY ID", created.KeyID, "APP KEY", created.AppKey,
						"APP SECRET", created.AppSecret, "SCOPES", list(created.Scopes), "METHODS", keyMethodsCell(created.Methods))
					t.note("Keep the app_secret now: authzctl cannot show it again.")
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.AppID, "app", "", "app id (required)")
	f.StringVar(&p.Key, "key", "", "import this app_key (with --secret; default: generated)")
	f.StringVar(&p.Secret, "secret", "", "import this app_secret (with --key)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes the key holds")
	f.String("expires", "", "when the key stops working, RFC 3339; a past time ends it at once (default: never)")
	f.StringVar(&methods, "methods", "", "comma-separated auth methods the key may be used with: key, hmac, paramsign, oauth2 (default: all the API accepts)")
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
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				keys, err := st.ListKeys(ctx, appID)
				if err != nil {
					return appError("key list --app", appID, err)
				}
				keys = nonNil(keys)
				for i := range keys {
					keys[i].Scopes = nonNil(keys[i].Scopes)
					keys[i].Methods = nonNil(keys[i].Methods)
				}
				return c.emit(struct {
					Keys []store.KeyInfo `json:"keys"`
				}{keys}, func(t *tableWriter) {
					t.row("KEY ID", "APP ID", "SCOPES", "METHODS", "STATUS", "EXPIRES", "CREATED")
					for _, k := range keys {
						t.row(k.KeyID, k.AppID, list(k.Scopes), keyMethodsCell(k.Methods), k.Status, expiryCell(k.ExpiresAt), timeCell(k.CreatedAt))
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&appID, "app", "", "app id (required)")
	return cmd
}

func newKeyRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key for good (its tokens stop working too)",
		Long:  "Revoke a key for good, named by its key_id (see 'authzctl key list'); its app_key is accepted too.",
		Args:  argNames("KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.keyRef(args[0])
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				kid, err := st.KeyIDOf(ctx, args[0])
				if err == nil {
					err = st.RevokeKey(ctx, kid)
				}
				if err != nil {
					return keyError("key revoke", args[0], err)
				}
				out := keyRevokedJSON{KeyID: kid, Revoked: true}
				return c.emit(out, func(t *tableWriter) { t.fields("KEY ID", out.KeyID, "REVOKED", "yes") })
			})
		},
	}
}

func newKeyStatusCmd(c *cli, verb string, status authz.Status) *cobra.Command {
	short := "Disable a key until it is enabled again (AppDisabled)"
	if status == authz.StatusActive {
		short = "Enable a disabled key"
	}
	return &cobra.Command{
		Use:   verb + " KEY_ID",
		Short: short,
		Long:  short + ", named by its key_id (see 'authzctl key list'); its app_key is accepted too.",
		Args:  argNames("KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.keyRef(args[0])
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				kid, err := st.KeyIDOf(ctx, args[0])
				if err == nil {
					err = st.SetKeyStatus(ctx, kid, status)
				}
				if err != nil {
					return keyError("key "+verb, args[0], err)
				}
				out := keyStatusJSON{KeyID: kid, Status: string(status)}
				return c.emit(out, func(t *tableWriter) { t.fields("KEY ID", out.KeyID, "STATUS", out.Status) })
			})
		},
	}
}

// keyError never repeats an app_key: only a key id is named.
func keyError(op, ref string, err error) error {
	name := "that key"
	if isKeyIDArg(ref) {
		name = "key " + ref
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s not found: name it by the key_id shown by 'authzctl key list --app ID'", name)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// keyRef redacts a key argument that is not a key id (an app_key) from
// anything this invocation prints.
func (c *cli) keyRef(ref string) {
	if !isKeyIDArg(ref) {
		c.secret(ref)
	}
}

func isKeyIDArg(s string) bool { return keyIDArg.MatchString(s) }

var keyIDArg = regexp.MustCompile(`^kid_[a-z2-7]{20}$`)

// keyMethods parses --methods: key methods only; "" = no restriction.
func keyMethods(s string) ([]authz.Method, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	ms, err := authz.ParseMethods(s)
	if err == nil && slices.Contains(ms, authz.MethodAppCode) {
		err = errors.New("appcode is not a key method: use key, hmac, paramsign, oauth2 or xca")
	}
	if err != nil {
		return nil, usageErrorf("invalid --methods: %v", err)
	}
	return ms, nil
}

// checkKeyLength applies the store's rule before Redis is asked: an
// imported app_key usable with the key method is a bearer credential and
// needs store.MinBareKeyLength characters.
func checkKeyLength(flag, key string, methods []authz.Method) error {
	if key == "" || (len(methods) > 0 && !slices.Contains(methods, authz.MethodKey)) {
		return nil
	}
	if len(key) < store.MinBareKeyLength {
		return usageErrorf("invalid --%s: a key usable with the key method must be at least %d characters long (got %d); import a longer one, leave it out to generate one, or restrict the key with --methods hmac,paramsign,oauth2", flag, store.MinBareKeyLength, len(key))
	}
	return nil
}

func keyMethodsCell(ms []string) string {
	if len(ms) == 0 {
		return "all"
	}
	return strings.Join(ms, ",")
}
