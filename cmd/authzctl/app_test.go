package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func TestAppCreateGenerates(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "Orders Service")
	if a.AppID == "" || a.AppKey == "" || a.AppSecret == "" || a.AppCode == "" {
		t.Fatalf("want every credential generated, got %+v", a)
	}
	if a.Name != "Orders Service" {
		t.Errorf("name = %q, want %q", a.Name, "Orders Service")
	}
	var b store.CreatedApp
	e.json(&b, "app", "create", "--name", "Orders Service")
	if b.AppID == a.AppID || b.AppKey == a.AppKey || b.AppSecret == a.AppSecret || b.AppCode == a.AppCode {
		t.Errorf("two creates share a generated value:\n%+v\n%+v", a, b)
	}
}

// TestAppCreateImports checks imported credentials reach Redis as given:
// the decision core finds the key with its secret and the AppCode by hash.
func TestAppCreateImports(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "legacy", "--id", "legacy-1",
		"--key", "204001", "--secret", "s3cret-from-kong", "--appcode", "APPCODE-0123456789", "--methods", "hmac,paramsign")
	want := store.CreatedApp{AppID: "legacy-1", Name: "legacy", KeyID: a.KeyID, AppKey: "204001",
		AppSecret: "s3cret-from-kong", AppCode: "APPCODE-0123456789"}
	if a != want {
		t.Fatalf("create answered %+v, want %+v", a, want)
	}

	codeHash := sha256hex("APPCODE-0123456789")
	st := store.New(e.srv.Client(t), store.WithKeyring(testKeyring))
	got, err := st.Lookup(context.Background(), authz.LookupQuery{AppKeys: []string{"204001"}, AppCodeHashes: []string{codeHash}})
	if err != nil {
		t.Fatal(err)
	}
	k := got.Keys[authz.HashAppKey("204001")]
	if k == nil || k.AppID != "legacy-1" || k.KeyID != a.KeyID || len(k.Methods) != 2 || k.Secret != "s3cret-from-kong" || k.Status != authz.StatusActive {
		t.Errorf("key in Redis = %+v, want app legacy-1 with the imported secret, active", k)
	}
	if c := got.AppCodes[codeHash]; c == nil || c.AppID != "legacy-1" {
		t.Errorf("AppCode in Redis = %+v, want it to resolve to legacy-1", c)
	}
}

func TestAppListShowNeverShowSecrets(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "one", "--id", "one")
	var b store.CreatedApp
	e.json(&b, "app", "create", "--name", "two", "--id", "two")

	var list struct {
		Apps []store.AppInfo `json:"apps"`
	}
	e.json(&list, "app", "list")
	var ids []string
	for _, x := range list.Apps {
		ids = append(ids, x.AppID)
		if x.Status != "active" || !x.HasAppCode || len(x.Keys) != 1 || x.CreatedAt.IsZero() {
			t.Errorf("listed %+v: want active, with an AppCode, one key and a creation time", x)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"one", "two"}) {
		t.Errorf("listed apps %v, want [one two]", ids)
	}

	var show store.AppInfo
	e.json(&show, "app", "show", "one")
	if show.AppID != "one" || show.Name != "one" || !slices.Equal(show.Keys, []string{a.KeyID}) {
		t.Errorf("show one = %+v, want its name and key id %s", show, a.KeyID)
	}

	for _, args := range [][]string{
		{"app", "list"}, {"-o", "json", "app", "list"},
		{"app", "show", "one"}, {"-o", "json", "app", "show", "one"},
		{"key", "list", "--app", "one"}, {"-o", "json", "key", "list", "--app", "one"},
	} {
		r := e.run(args...)
		if r.code != 0 {
			t.Fatalf("%v: %v", args, r)
		}
		if strings.Contains(r.stdout, a.AppSecret) || strings.Contains(r.stdout, a.AppCode) {
			t.Errorf("%v prints a secret or AppCode: %s", args, r.stdout)
		}
	}
}

func TestAppEmptyListIsArray(t *testing.T) {
	e := newEnv(t)
	r := e.run("-o", "json", "app", "list")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `{"apps":[]}` {
		t.Errorf("empty app list: want {\"apps\":[]}, got %v", r)
	}
}

func TestAppDisableEnable(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x")
	for _, step := range []struct{ verb, want string }{
		{"disable", "disabled"}, {"enable", "active"}, {"disable", "disabled"},
	} {
		var out appStatusJSON
		e.json(&out, "app", step.verb, "x")
		if out != (appStatusJSON{AppID: "x", Status: step.want}) {
			t.Errorf("app %s answered %+v", step.verb, out)
		}
		var show store.AppInfo
		e.json(&show, "app", "show", "x")
		if show.Status != step.want {
			t.Errorf("after app %s, status is %q, want %q", step.verb, show.Status, step.want)
		}
	}
}

// TestAppDeleteFreesKeys is the contract's "its app_keys can then be reused".
func TestAppDeleteFreesKeys(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "old", "--id", "old", "--key", "shared-key-0123456", "--secret", "secret-one")
	line := e.fail("app", "create", "--name", "clash", "--key", "shared-key-0123456", "--secret", "secret-two")
	if !strings.Contains(line, "app_key") || strings.Contains(line, "shared-key") || strings.Contains(line, "secret-two") {
		t.Errorf("duplicate key error %q: want it to say the app_key is taken, without repeating it or the secret", line)
	}

	var del appDeletedJSON
	e.json(&del, "app", "delete", "old")
	if del != (appDeletedJSON{AppID: "old", Deleted: true}) {
		t.Errorf("app delete answered %+v", del)
	}
	e.fail("app", "show", "old")

	var b store.CreatedApp
	e.json(&b, "app", "create", "--name", "new", "--id", "new", "--key", "shared-key-0123456", "--secret", "secret-two")
	if b.AppKey != "shared-key-0123456" || b.AppID != "new" {
		t.Errorf("reusing the key answered %+v", b)
	}
	var keys struct {
		Keys []store.KeyInfo `json:"keys"`
	}
	e.json(&keys, "key", "list", "--app", "new")
	if len(keys.Keys) != 1 || keys.Keys[0].KeyID != b.KeyID || keys.Keys[0].AppID != "new" {
		t.Errorf("new app's keys = %+v, want shared-key only", keys.Keys)
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
