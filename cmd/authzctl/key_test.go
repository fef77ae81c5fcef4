package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func TestKeyCreate(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x")

	var gen store.CreatedKey
	e.json(&gen, "key", "create", "--app", "x", "--scopes", "read,write,read", "--expires", "2031-02-03T04:05:06Z")
	if gen.AppID != "x" || gen.AppKey == "" || gen.AppSecret == "" || gen.AppKey == a.AppKey {
		t.Errorf("generated key %+v: want a new key and secret for app x", gen)
	}
	if !slices.Equal(gen.Scopes, []string{"read", "write"}) {
		t.Errorf("scopes = %v, want [read write]", gen.Scopes)
	}

	var imp store.CreatedKey
	e.json(&imp, "key", "create", "--app", "x", "--key", "imported-key-0123456", "--secret", "imported-secret")
	want := store.CreatedKey{AppID: "x", AppKey: "imported-key-0123456", AppSecret: "imported-secret", Scopes: []string{}}
	if !equalKey(imp, want) {
		t.Errorf("imported key answered %+v, want %+v", imp, want)
	}

	st := store.New(e.srv.Client(t), store.WithKeyring(testKeyring))
	got, err := st.Lookup(context.Background(), authz.LookupQuery{AppKeys: []string{gen.AppKey, "imported-key-0123456"}})
	if err != nil {
		t.Fatal(err)
	}
	if k := got.Keys[authz.HashAppKey(gen.AppKey)]; k == nil || k.Secret != gen.AppSecret || !k.ExpiresAt.Equal(authz.ExpiryAt(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC))) {
		t.Errorf("generated key in Redis = %+v, want its secret and expiry", k)
	}
	if k := got.Keys[authz.HashAppKey("imported-key-0123456")]; k == nil || k.Secret != "imported-secret" || !k.ExpiresAt.Never() {
		t.Errorf("imported key in Redis = %+v, want its secret and no expiry", k)
	}

	var list struct {
		Keys []store.KeyInfo `json:"keys"`
	}
	e.json(&list, "key", "list", "--app", "x")
	byKey := map[string]store.KeyInfo{}
	for _, k := range list.Keys {
		byKey[k.KeyID] = k
	}
	if len(byKey) != 3 {
		t.Fatalf("key list = %+v, want 3 keys", list.Keys)
	}
	if k := byKey[gen.KeyID]; k.ExpiresAt == nil || !slices.Equal(k.Scopes, []string{"read", "write"}) || k.Status != "active" {
		t.Errorf("listed generated key %+v: want expiry, scopes read,write, active", k)
	}
	if k := byKey[imp.KeyID]; k.ExpiresAt != nil || k.Scopes == nil {
		t.Errorf("listed imported key %+v: want no expiry and scopes [] (not null)", k)
	}

	e.fail("key", "create", "--app", "nope")
	line := e.fail("key", "create", "--app", "x", "--key", "imported-key-0123456", "--secret", "another-secret")
	if want := `authzctl: the app_key given is already in use: choose another --key, or delete the app that holds it`; line != want {
		t.Errorf("duplicate key: got %q, want %q", line, want)
	}
}

func equalKey(a, b store.CreatedKey) bool {
	return a.AppID == b.AppID && isKeyIDArg(a.KeyID) && a.AppKey == b.AppKey && a.AppSecret == b.AppSecret && slices.Equal(a.Scopes, b.Scopes) && (a.Scopes == nil) == (b.Scopes == nil)
}

func TestKeyStatusAndRevoke(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x", "--key", "k-1-0123456789abc", "--secret", "secret-1")
	status := func() string {
		var list struct {
			Keys []store.KeyInfo `json:"keys"`
		}
		e.json(&list, "key", "list", "--app", "x")
		if len(list.Keys) != 1 {
			t.Fatalf("keys = %+v, want one", list.Keys)
		}
		return list.Keys[0].Status
	}

	var ks keyStatusJSON
	e.json(&ks, "key", "disable", a.KeyID)
	if ks != (keyStatusJSON{KeyID: a.KeyID, Status: "disabled"}) || status() != "disabled" {
		t.Errorf("key disable answered %+v, status now %q", ks, status())
	}
	// By app_key too, for compatibility: the answer names the key id.
	e.json(&ks, "key", "enable", "k-1-0123456789abc")
	if ks != (keyStatusJSON{KeyID: a.KeyID, Status: "active"}) || status() != "active" {
		t.Errorf("key enable answered %+v, status now %q", ks, status())
	}

	var rv keyRevokedJSON
	e.json(&rv, "key", "revoke", a.KeyID)
	if rv != (keyRevokedJSON{KeyID: a.KeyID, Revoked: true}) {
		t.Errorf("key revoke answered %+v", rv)
	}
	var list struct {
		Keys []store.KeyInfo `json:"keys"`
	}
	e.json(&list, "key", "list", "--app", "x")
	if len(list.Keys) != 0 {
		t.Errorf("after revoke, keys = %+v", list.Keys)
	}
	for _, verb := range []string{"revoke", "disable", "enable"} {
		if line := e.fail("key", verb, a.KeyID); line != `authzctl: key `+a.KeyID+` not found: name it by the key_id shown by 'authzctl key list --app ID'` {
			t.Errorf("key %s of a revoked key: %q", verb, line)
		}
		if line := e.fail("key", verb, "k-1-0123456789abc"); line != `authzctl: that key not found: name it by the key_id shown by 'authzctl key list --app ID'` {
			t.Errorf("key %s of a revoked key: %q", verb, line)
		}
	}
}

func TestAppCodeReset(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x")

	var gen appCodeJSON
	e.json(&gen, "appcode", "reset", "--app", "x")
	if gen.AppID != "x" || gen.AppCode == "" || gen.AppCode == a.AppCode {
		t.Errorf("reset answered %+v: want a new AppCode (old %s)", gen, a.AppCode)
	}
	var imp appCodeJSON
	e.json(&imp, "appcode", "reset", "--app", "x", "--code", "my-own-code-123")
	if imp != (appCodeJSON{AppID: "x", AppCode: "my-own-code-123"}) {
		t.Errorf("reset --code answered %+v", imp)
	}

	st := store.New(e.srv.Client(t), store.WithKeyring(testKeyring))
	hashes := []string{sha256hex(a.AppCode), sha256hex(gen.AppCode), sha256hex("my-own-code-123")}
	got, err := st.Lookup(context.Background(), authz.LookupQuery{AppCodeHashes: hashes})
	if err != nil {
		t.Fatal(err)
	}
	if got.AppCodes[hashes[0]] != nil || got.AppCodes[hashes[1]] != nil {
		t.Errorf("replaced AppCodes still resolve: %+v", got.AppCodes)
	}
	if c := got.AppCodes[hashes[2]]; c == nil || c.AppID != "x" {
		t.Errorf("the imported AppCode resolves to %+v, want app x", c)
	}

	if line := e.fail("appcode", "reset", "--app", "nope", "--code", "secret-code-9"); line != `authzctl: app "nope" not found: see 'authzctl app list'` {
		t.Errorf("reset of unknown app: %q", line)
	}
}
