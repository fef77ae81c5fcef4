package e2e

import (
	"os"
	"path/filepath"

	"github.com/appauthz/appauthz/store"
)

// masterKey is the master key of the package's authzd and authzctl runs.
var masterKey struct {
	file    string
	key     []byte
	keyring *store.Keyring
}

// useMasterKey writes a fresh master key into dir and exports it as
// AUTHZ_MASTER_KEY_FILE, which every authzd and authzctl started by the
// tests inherits.
func useMasterKey(dir string) error {
	kr, key := store.NewRandomKeyring()
	file := filepath.Join(dir, "master.key")
	if err := os.WriteFile(file, key, 0o600); err != nil {
		return err
	}
	masterKey.file, masterKey.key, masterKey.keyring = file, key, kr
	return os.Setenv("AUTHZ_MASTER_KEY_FILE", file)
}
