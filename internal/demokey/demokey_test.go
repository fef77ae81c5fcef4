package demokey_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/internal/demokey"
	"github.com/appauthz/appauthz/store"
)

// demoKeyFile is the key the compose demo mounts.
var demoKeyFile = filepath.Join("..", "..", "deploy", "demo", "DEMO-ONLY-master.key")

// The id must be that of the committed file, or the refusal would never fire.
func TestIDIsTheDemoFile(t *testing.T) {
	key, err := store.LoadMasterKey(demoKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := store.KeyID(key); got != demokey.ID {
		t.Fatalf("KeyID(%s) = %s, demokey.ID = %s", demoKeyFile, got, demokey.ID)
	}
}

func TestIs(t *testing.T) {
	demo, err := store.LoadMasterKey(demoKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	_, other := store.NewRandomKeyring()
	mustRing := func(cur []byte, old ...[]byte) *store.Keyring {
		kr, err := store.NewKeyring(cur, old...)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	for name, tc := range map[string]struct {
		kr   *store.Keyring
		want bool
	}{
		"no keyring":              {nil, false},
		"demo key current":        {mustRing(demo), true},
		"demo key with old":       {mustRing(demo, other), true},
		"own key":                 {mustRing(other), false},
		"rotating off demo (old)": {mustRing(other, demo), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := demokey.Is(tc.kr); got != tc.want {
				t.Errorf("Is = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRefusalSaysWhatToDo(t *testing.T) {
	msg := demokey.Refusal("/etc/k").Error()
	for _, want := range []string{"/etc/k", demokey.ID, "head -c 32 /dev/urandom", "--" + demokey.Flag, demokey.Env + "=true"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
}
