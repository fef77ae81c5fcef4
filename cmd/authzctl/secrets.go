package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appauthz/appauthz/internal/demokey"
	"github.com/appauthz/appauthz/store"
)

// masterKeyFlags are the global flags naming the master keys that seal app
// secrets in Redis (docs/secrets.md); authzd takes the same.
type masterKeyFlags struct {
	current   string
	old       []string
	plaintext bool
	allowDemo bool // --allow-demo-master-key: the compose demo's public key
	warn      io.Writer
}

func (m *masterKeyFlags) register(pf *pflag.FlagSet) {
	plaintext, _ := strconv.ParseBool(os.Getenv("AUTHZ_INSECURE_PLAINTEXT_SECRETS"))
	var old []string
	if v := os.Getenv("AUTHZ_OLD_MASTER_KEY_FILE"); v != "" {
		old = splitUnique(v)
	}
	pf.StringVar(&m.current, "master-key-file", os.Getenv("AUTHZ_MASTER_KEY_FILE"), "file holding the 32-byte master key sealing app secrets, as given to authzd (env AUTHZ_MASTER_KEY_FILE)")
	pf.StringSliceVar(&m.old, "old-master-key-file", old, "previous master key files, to open secrets not yet re-sealed (env AUTHZ_OLD_MASTER_KEY_FILE)")
	allowDemo, _ := strconv.ParseBool(os.Getenv(demokey.Env))
	pf.BoolVar(&m.allowDemo, demokey.Flag, allowDemo, "accept the public demo master key of deploy/demo; docker compose demo only (env "+demokey.Env+")")
	pf.BoolVar(&m.plaintext, "insecure-plaintext-secrets", plaintext, "read and write app secrets in clear when no master key is given; not for production (env AUTHZ_INSECURE_PLAINTEXT_SECRETS)")
}

// keyring loads the master keys. Without one, a command that opens or
// seals secrets (needed) is refused unless --insecure-plaintext-secrets
// says otherwise; the others run with no Keyring, and never write a secret.
func (m *masterKeyFlags) keyring(needed bool) (*store.Keyring, error) {
	if m.current == "" {
		if len(m.old) > 0 {
			return nil, usageErrorf("--old-master-key-file needs --master-key-file: the new key seals, the old ones only open")
		}
		if !needed {
			return nil, nil
		}
		if !m.plaintext {
			return nil, usageErrorf("no master key: give --master-key-file or AUTHZ_MASTER_KEY_FILE, the file authzd uses; or --insecure-plaintext-secrets to keep app secrets in clear (not for production)")
		}
		fmt.Fprintln(m.warn, "authzctl: WARNING: --insecure-plaintext-secrets without a master key: app secrets are written in clear to Redis")
		return nil, nil
	}
	cur, err := store.LoadMasterKey(m.current)
	if err != nil {
		return nil, usageErrorf("--master-key-file: %v", err)
	}
	var old [][]byte
	for _, f := range m.old {
		k, err := store.LoadMasterKey(f)
		if err != nil {
			return nil, usageErrorf("--old-master-key-file: %v", err)
		}
		old = append(old, k)
	}
	kr, err := store.NewKeyring(cur, old...)
	if err != nil {
		return nil, usageErrorf("--master-key-file: %v", err)
	}
	if demokey.Is(kr) {
		if !m.allowDemo {
			return nil, usageErrorf("--master-key-file: %v", demokey.Refusal(m.current))
		}
		fmt.Fprintln(m.warn, "authzctl: WARNING: "+demokey.Warning)
	}
	if m.plaintext {
		kr.AcceptPlaintext()
	}
	return kr, nil
}

func newSecretsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the encryption of app secrets at rest",
		RunE:  groupRunE,
	}
	var force bool
	rotate := &cobra.Command{
		Use:   "rotate-master",
		Short: "Re-seal every app secret under --master-key-file (online; authzd must hold both keys meanwhile)",
		Long: `rotate-master re-encrypts every app secret under the master key given with
--master-key-file: secrets sealed under a key given with --old-master-key-file,
and secrets stored in clear. It runs online; run authzd with both keys
(--master-key-file NEW --old-master-key-file OLD) until it is done, then drop
the old key. See docs/rotation.md.

Order is enforced: every running authzd announces in Redis the master keys
it opens, and rotate-master refuses while one of them does not open the new
key (restart it with the new key first). --force skips that check, for an
authzd announcing from a host that is gone (its announcement expires within
30s anyway) or one too old to announce; its Checks of re-sealed keys fail.`,
		Args: argNames(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.keys.current == "" {
				return usageErrorf("secrets rotate-master needs --master-key-file (the new key) and --old-master-key-file (the keys to leave)")
			}
			return c.withStore(cmd, func(ctx context.Context, st *store.Store) error {
				if !force {
					if err := st.CheckKeyReaders(ctx); err != nil {
						return fmt.Errorf("secrets rotate-master: %w; nothing was re-sealed (--force skips this check)", err)
					}
				}
				res, err := st.RotateSecrets(ctx)
				if err != nil {
					return fmt.Errorf("secrets rotate-master: %w (re-sealed so far: %d; run it again once fixed)", err, res.Resealed+res.Sealed)
				}
				return c.emit(res, func(t *tableWriter) {
					t.fields("MASTER KEY ID", res.MasterKeyID, "KEYS", strconv.Itoa(res.Keys),
						"RESEALED", strconv.Itoa(res.Resealed), "SEALED FROM CLEAR", strconv.Itoa(res.Sealed),
						"ALREADY CURRENT", strconv.Itoa(res.Current))
				})
			})
		},
	}
	rotate.Flags().BoolVar(&force, "force", false, "re-seal even if a running authzd does not open the new master key (its Checks then fail)")
	cmd.AddCommand(rotate)
	return cmd
}
