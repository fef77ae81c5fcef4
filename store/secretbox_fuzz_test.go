package store

import (
	"bytes"
	"testing"
)

// FuzzSecretbox checks the sealed-secret format from both sides: any
// stored string opens or fails cleanly (never a panic, never a secret for
// a value that was not sealed under our key), and every secret sealed for
// one app_key opens for it and for no other.
func FuzzSecretbox(f *testing.F) {
	key := bytes.Repeat([]byte{7}, MasterKeySize)
	ring, err := NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	lax, err := NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	lax.AcceptPlaintext()
	f.Add("k1", "s3cret", "v1:"+KeyID(key)+":AAAA")
	f.Add("088ed68d41504123b76d0812f328b560", "01c28076047a46a9a3d46d9082f2a716", "v1:")
	f.Add("", "", "v1:nope:////")
	f.Add("k", "x", ring.seal("k", "x"))
	f.Add("k", "x", ring.seal("other", "x"))
	f.Fuzz(func(t *testing.T, appKey, secret, stored string) {
		sealed := ring.seal(appKey, secret)
		got, kid, err := ring.open(appKey, sealed)
		if err != nil || got != secret || kid != ring.ID() {
			t.Fatalf("seal/open %q for %q: got %q, kid %q, %v", secret, appKey, got, kid, err)
		}
		if _, _, err := ring.open(appKey+"x", sealed); err == nil {
			t.Fatalf("a secret sealed for %q opened for %q", appKey, appKey+"x")
		}
		// Arbitrary stored values: a strict keyring opens nothing that is
		// not sealed under its key; a plaintext-accepting one passes
		// unsealed values through unchanged.
		got, _, err = ring.open(appKey, stored)
		if err == nil && !bytes.HasPrefix([]byte(stored), []byte(sealedPrefix)) {
			t.Fatalf("strict keyring accepted unsealed %q", stored)
		}
		if err != nil && got != "" {
			t.Fatalf("open failed but returned %q", got)
		}
		if got, _, err := lax.open(appKey, stored); err == nil && !bytes.HasPrefix([]byte(stored), []byte(sealedPrefix)) && got != stored {
			t.Fatalf("plaintext %q read back as %q", stored, got)
		}
	})
}
