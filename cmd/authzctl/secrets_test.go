package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

// Without a master key authzctl refuses every command that opens or seals
// secrets (exit 2), unless --insecure-plaintext-secrets says otherwise,
// which it warns about.
func TestMasterKeyRequired(t *testing.T) {
	e := newEnv(t)
	noKey := []string{"AUTHZ_MASTER_KEY_FILE="}
	r := runCtlEnv(t, noKey, "--redis-url", e.srv.URL(), "app", "create", "--name", "N")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--master-key-file") {
		t.Fatalf("no master key: %v", r)
	}
	r = runCtlEnv(t, noKey, "--redis-url", e.srv.URL(), "--insecure-plaintext-secrets", "-o", "json", "app", "create", "--name", "P", "--id", "p",
		"--key", "plain-key-0123456789", "--secret", "plain-secret-1")
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING") {
		t.Fatalf("--insecure-plaintext-secrets: %v", r)
	}
	if v := e.srv.Client(t).HGet(context.Background(), "appauthz:key:{"+authz.HashAppKey("plain-key-0123456789")+"}", "secret").Val(); v != "plain-secret-1" {
		t.Errorf("plaintext mode stored %q", v)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCtlEnv(t, []string{"AUTHZ_MASTER_KEY_FILE=" + bad}, "--redis-url", e.srv.URL(), "app", "list")
	if r.code != exitUsage || !strings.Contains(r.stderr, "32") {
		t.Errorf("bad key file: %v", r)
	}
	// check and sign need no store, so no key.
	if r := runCtlEnv(t, noKey, "sign", "paramsign", "--key", "k", "--secret", "s", "GET", "http://x/y"); r.code != 0 {
		t.Errorf("sign without a master key: %v", r)
	}
}

// rotate-master: secrets written under the test key (and one in clear)
// end sealed under a new key, which alone then opens them.
func TestSecretsRotateMaster(t *testing.T) {
	e := newEnv(t)
	var app store.CreatedApp
	e.json(&app, "app", "create", "--name", "R", "--id", "r")
	r := runCtlEnv(t, []string{"AUTHZ_MASTER_KEY_FILE=", "AUTHZ_INSECURE_PLAINTEXT_SECRETS=true"}, "--redis-url", e.srv.URL(), "key", "create", "--app", "r", "--key", "legacy-key-0123456", "--secret", "legacy-secret")
	if r.code != 0 {
		t.Fatal(r)
	}
	newKR, newKey := store.NewRandomKeyring()
	newFile := filepath.Join(t.TempDir(), "new.key")
	if err := os.WriteFile(newFile, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	// Under the current key, rotate-master seals what is in clear.
	var first store.RotateResult
	e.json(&first, "secrets", "rotate-master")
	if first != (store.RotateResult{MasterKeyID: testKeyring.ID(), Keys: 2, Sealed: 1, Current: 1}) {
		t.Errorf("sealing the plaintext secret: %+v", first)
	}
	var res store.RotateResult
	r = runCtlEnv(t, []string{"AUTHZ_MASTER_KEY_FILE=" + newFile, "AUTHZ_OLD_MASTER_KEY_FILE=" + masterKeyFile}, "--redis-url", e.srv.URL(),
		"--insecure-plaintext-secrets", "-o", "json", "secrets", "rotate-master")
	if r.code != 0 {
		t.Fatal(r)
	}
	decodeOne(t, r.stdout, &res)
	if res != (store.RotateResult{MasterKeyID: newKR.ID(), Keys: 2, Resealed: 2}) {
		t.Errorf("rotate-master = %+v", res)
	}
	got, err := store.New(e.srv.Client(t), store.WithKeyring(newKR)).Lookup(context.Background(), authz.LookupQuery{AppKeys: []string{app.AppKey, "legacy-key-0123456"}})
	if err != nil || got.Keys[authz.HashAppKey(app.AppKey)].Secret != app.AppSecret || got.Keys[authz.HashAppKey("legacy-key-0123456")].Secret != "legacy-secret" {
		t.Fatalf("after rotation: %+v %v", got.Keys, err)
	}
	// The old key alone no longer opens them, and says which key is missing.
	_, err = store.New(e.srv.Client(t), store.WithKeyring(testKeyring)).Lookup(context.Background(), authz.LookupQuery{AppKeys: []string{"legacy-key-0123456"}})
	if err == nil || !strings.Contains(err.Error(), newKR.ID()) {
		t.Errorf("the old master key still opens a re-sealed secret: %v", err)
	}
}

func TestAPIMethodScopes(t *testing.T) {
	e := newEnv(t)
	var a apiJSON
	e.json(&a, "api", "create", "--id", "o", "--methods", "key,oauth2", "--method-scopes", "get,HEAD=orders:read;POST,PUT=orders:write")
	if a.MethodScopes != "GET=orders:read;HEAD=orders:read;POST=orders:write;PUT=orders:write" {
		t.Errorf("method_scopes = %q", a.MethodScopes)
	}
	e.json(&a, "api", "update", "o", "--scopes", "base")
	if a.MethodScopes == "" || len(a.Scopes) != 1 {
		t.Errorf("an update of --scopes lost the method scopes: %+v", a)
	}
	var cleared apiJSON
	e.json(&cleared, "api", "update", "o", "--method-scopes", "")
	if cleared.MethodScopes != "" {
		t.Errorf("--method-scopes '' kept %q", cleared.MethodScopes)
	}
	if r := e.run("api", "update", "o", "--method-scopes", "GET"); r.code != exitUsage || !strings.Contains(r.stderr, "METHODS=SCOPES") {
		t.Errorf("bad --method-scopes: %v", r)
	}
}

func TestTokenRevokeCommand(t *testing.T) {
	e := newEnv(t)
	var out tokenRevokedJSON
	e.json(&out, "token", "revoke", "no-such-token")
	if out.Revoked {
		t.Error("revoked an unknown token")
	}
	if r := e.run("token", "revoke"); r.code != exitUsage {
		t.Errorf("no token: %v", r)
	}
}

// rotate-master refuses (exit 1, nothing re-sealed) while a live authzd
// announcement lacks the new key; --force re-seals anyway.
func TestSecretsRotateMasterForce(t *testing.T) {
	e := newEnv(t)
	var app store.CreatedApp
	e.json(&app, "app", "create", "--name", "F", "--id", "f")
	rdb := e.srv.Client(t)
	// An authzd opening only the current key, as authzd announces itself.
	if err := store.New(rdb, store.WithKeyring(testKeyring)).AnnounceMasterKeys(context.Background(), "host:1:ab", time.Minute); err != nil {
		t.Fatal(err)
	}
	newKR, newKey := store.NewRandomKeyring()
	newFile := filepath.Join(t.TempDir(), "new.key")
	if err := os.WriteFile(newFile, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	rotate := []string{"--redis-url", e.srv.URL(), "--master-key-file", newFile, "--old-master-key-file", masterKeyFile, "secrets", "rotate-master"}
	line := wantFail(t, runCtl(t, rotate...))
	if !strings.Contains(line, "host:1:ab (opens "+testKeyring.ID()+")") || !strings.Contains(line, "--force") {
		t.Errorf("refusal %q does not name the authzd or the escape hatch", line)
	}
	secret := func() string {
		return rdb.HGet(context.Background(), "appauthz:key:{"+authz.HashAppKey(app.AppKey)+"}", "secret").Val()
	}
	if s := secret(); !strings.HasPrefix(s, "v1:"+testKeyring.ID()+":") {
		t.Errorf("the refused rotation re-sealed the secret: %.12s…", s)
	}
	var res store.RotateResult
	r := runCtl(t, append([]string{"-o", "json"}, append(rotate, "--force")...)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	decodeOne(t, r.stdout, &res)
	if res.Resealed != 1 || !strings.HasPrefix(secret(), "v1:"+newKR.ID()+":") {
		t.Errorf("rotate-master --force = %+v, secret %.12s…; want it re-sealed under %s", res, secret(), newKR.ID())
	}
}
