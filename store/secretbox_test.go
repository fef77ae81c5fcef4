package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

func TestParseMasterKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, MasterKeySize)
	for name, in := range map[string]string{
		"raw":             string(key),
		"hex":             hex.EncodeToString(key) + "\n",
		"base64":          base64.StdEncoding.EncodeToString(key) + "\n",
		"base64url bare":  "  " + base64.RawURLEncoding.EncodeToString(key),
		"base64 no eol":   base64.StdEncoding.EncodeToString(key),
		"hex upper, CRLF": strings.ToUpper(hex.EncodeToString(key)) + "\r\n",
	} {
		got, err := ParseMasterKey([]byte(in))
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	for name, in := range map[string]string{
		"empty":     "",
		"short raw": "0123456789",
		"16 bytes":  base64.StdEncoding.EncodeToString(key[:16]),
		"raw + eol": string(key) + "\n",
	} {
		if _, err := ParseMasterKey([]byte(in)); err == nil || !strings.Contains(err.Error(), "head -c 32 /dev/urandom") {
			t.Errorf("%s: err %v, want one saying how to make a key", name, err)
		}
	}
}

func TestKeyringSealOpen(t *testing.T) {
	oldKR, oldKey := NewRandomKeyring()
	_, newKey := NewRandomKeyring()
	both, err := NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed := oldKR.seal("k1", "s3cret-value")
	if !strings.HasPrefix(sealed, "v1:"+KeyID(oldKey)+":") || strings.Contains(sealed, "s3cret") {
		t.Fatalf("sealed = %q", sealed)
	}
	if again := oldKR.seal("k1", "s3cret-value"); again == sealed {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	for name, tc := range map[string]struct {
		kr      *Keyring
		appKey  string
		stored  string
		want    string
		wantKid string
		errHas  string
	}{
		"old key opens":          {kr: oldKR, appKey: "k1", stored: sealed, want: "s3cret-value", wantKid: KeyID(oldKey)},
		"rotation keyring opens": {kr: both, appKey: "k1", stored: sealed, want: "s3cret-value", wantKid: KeyID(oldKey)},
		"other key id":           {kr: mustKeyring(t, newKey), appKey: "k1", stored: sealed, errHas: "--old-master-key-file"},
		"copied to another key":  {kr: oldKR, appKey: "k2", stored: sealed, errHas: "copied from another key"},
		"tampered":               {kr: oldKR, appKey: "k1", stored: sealed[:len(sealed)-2] + "AA", errHas: "does not open"},
		"truncated":              {kr: oldKR, appKey: "k1", stored: "v1:" + KeyID(oldKey) + ":AAAA", errHas: "malformed"},
		"no keyring":             {kr: nil, appKey: "k1", stored: sealed, errHas: "no master key"},
		"plaintext refused":      {kr: oldKR, appKey: "k1", stored: "legacy-secret", errHas: "rotate-master"},
		"plaintext accepted":     {kr: mustKeyring(t, oldKey).AcceptPlaintext(), appKey: "k1", stored: "legacy-secret", want: "legacy-secret"},
		"plaintext, no keyring":  {kr: nil, appKey: "k1", stored: "legacy-secret", want: "legacy-secret"},
	} {
		got, kid, err := tc.kr.open(tc.appKey, tc.stored)
		switch {
		case tc.errHas != "":
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: err %v, want one mentioning %q (and no secret)", name, err, tc.errHas)
			}
		case err != nil || got != tc.want || kid != tc.wantKid:
			t.Errorf("%s: %q %q %v, want %q %q", name, got, kid, err, tc.want, tc.wantKid)
		}
	}
}

func mustKeyring(t *testing.T, key []byte, old ...[]byte) *Keyring {
	t.Helper()
	kr, err := NewKeyring(key, old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// The online master key rotation: data written under the old key (and in
// clear, from before encryption) is re-sealed under the new one while a
// store holding both keeps reading it; afterwards the new key alone
// suffices.
func TestRotateSecrets(t *testing.T) {
	plain, rdb, _ := newTestStore(t)
	ctx := context.Background()
	legacy := mustCreateApp(t, plain, "legacy") // written in clear
	_, oldKey := NewRandomKeyring()
	_, newKey := NewRandomKeyring()
	oldStore := New(rdb, WithKeyring(mustKeyring(t, oldKey)))
	a := mustCreateApp(t, oldStore, "a")
	k2, err := oldStore.CreateKey(ctx, CreateKeyParams{AppID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{legacy.AppKey: legacy.AppSecret, a.AppKey: a.AppSecret, k2.AppKey: k2.AppSecret}

	if _, err := New(rdb).RotateSecrets(ctx); err == nil {
		t.Fatal("rotating without a keyring succeeded")
	}
	during := New(rdb, WithKeyring(mustKeyring(t, newKey, oldKey).AcceptPlaintext()))
	res, err := during.RotateSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (RotateResult{MasterKeyID: KeyID(newKey), Keys: 3, Resealed: 2, Sealed: 1}) {
		t.Errorf("first rotation = %+v", res)
	}
	if res, _ = during.RotateSecrets(ctx); res.Current != 3 || res.Resealed+res.Sealed != 0 {
		t.Errorf("second rotation = %+v, want everything current", res)
	}
	after := New(rdb, WithKeyring(mustKeyring(t, newKey)))
	got := lookupSecrets(t, after, want)
	for k, s := range want {
		if got[k] != s {
			t.Errorf("after rotation, key %s opens to %q, want %q", k, got[k], s)
		}
	}
	if _, err := oldStore.Lookup(ctx, lookupOf(want)); err == nil || !strings.Contains(err.Error(), KeyID(newKey)) {
		t.Errorf("the old key alone still opens secrets after rotation: %v", err)
	}
	dump := dumpRedis(t, after)
	for _, s := range want {
		if strings.Contains(dump, s) {
			t.Errorf("secret %s… is in clear in Redis after rotation", s[:4])
		}
	}
}

func lookupOf(keys map[string]string) (q lookupQuery) {
	for k := range keys {
		q.AppKeys = append(q.AppKeys, k)
	}
	return q
}

func lookupSecrets(t *testing.T, s *Store, keys map[string]string) map[string]string {
	t.Helper()
	res, err := s.Lookup(context.Background(), lookupOf(keys))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k := range keys {
		if key := res.Keys[authz.HashAppKey(k)]; key != nil {
			out[k] = key.Secret
		}
	}
	return out
}

type lookupQuery = authz.LookupQuery
