// Package demokey recognises the public demo master key that the
// docker-compose demo mounts (deploy/demo/DEMO-ONLY-master.key). It is in
// the repository, so anyone can open secrets sealed under it: authzd and
// authzctl refuse it unless the operator says the deployment is a demo.
package demokey

import (
	"fmt"

	"github.com/appauthz/appauthz/store"
)

// ID is the key id (store.KeyID) of deploy/demo/DEMO-ONLY-master.key.
// Matching by id keeps the key itself out of the binaries.
const ID = "b42bed21"

// Flag and Env are the switch that lets the demo key through.
const (
	Flag = "allow-demo-master-key"
	Env  = "AUTHZ_ALLOW_DEMO_MASTER_KEY"
)

// Warning is logged (authzd) or printed (authzctl) at every start that
// uses the demo key with the switch on.
const Warning = "DEMO ONLY: the master key is the public demo key (" + ID + ") from deploy/demo, which anyone can read; app secrets in Redis are as good as clear. Make your own key for any real deployment (docs/secrets.md)."

// Is reports whether kr seals new secrets under the demo key. Only the
// current key counts: the demo key given as an old key is how a stack
// rotates away from it.
func Is(kr *store.Keyring) bool {
	return kr != nil && kr.ID() == ID
}

// Refusal is the error for the demo key without the switch; keyFile is
// the file the operator gave.
func Refusal(keyFile string) error {
	return fmt.Errorf("%s is the public demo master key (id %s, deploy/demo/DEMO-ONLY-master.key): anyone can read it, so it must not seal real secrets. Make your own with `head -c 32 /dev/urandom | base64 > master.key` and give that file; for a throwaway demo only, add --%s (or %s=true)", keyFile, ID, Flag, Env)
}
