package main

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func TestGrants(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "x")
	var api apiJSON
	e.json(&api, "api", "create", "--id", "orders", "--methods", "key")

	var g store.GrantInfo
	e.json(&g, "grant", "add", "--api", "orders", "--app", "x")
	if g.API != "orders" || g.AppID != "x" || g.Stage != "RELEASE" || g.ExpiresAt != nil {
		t.Errorf("grant add answered %+v, want orders/x/RELEASE, no expiry", g)
	}
	var g2 store.GrantInfo
	e.json(&g2, "grant", "add", "--api", "orders", "--app", "x", "--stage", "TEST", "--expires", "2030-06-01T12:00:00+02:00")
	wantExp := time.Date(2030, 6, 1, 10, 0, 0, 0, time.UTC)
	if g2.Stage != "TEST" || g2.ExpiresAt == nil || !g2.ExpiresAt.Equal(wantExp) {
		t.Errorf("grant add --stage TEST --expires answered %+v, want TEST until %v", g2, wantExp)
	}

	// The decision core sees both grants.
	st := store.New(e.srv.Client(t))
	for stage, want := range map[string]authz.Expiry{"RELEASE": authz.NoExpiry, "TEST": authz.ExpiryAt(wantExp)} {
		p, err := st.Principal(context.Background(), authz.PrincipalQuery{AppIDs: []string{"x"}, GrantAPI: "orders", Stage: stage})
		if err != nil {
			t.Fatal(err)
		}
		if gr := p.Grants["x"]; gr == nil || !gr.ExpiresAt.Equal(want) {
			t.Errorf("stage %s: grant in Redis = %+v, want expiry %v", stage, gr, want)
		}
	}

	var list struct {
		Grants []store.GrantInfo `json:"grants"`
	}
	e.json(&list, "grant", "list", "--api", "orders")
	stages := map[string]bool{}
	for _, gi := range list.Grants {
		if gi.API != "orders" || gi.AppID != "x" {
			t.Errorf("listed grant %+v", gi)
		}
		stages[gi.Stage] = true
	}
	if len(list.Grants) != 2 || !stages["RELEASE"] || !stages["TEST"] {
		t.Errorf("grant list = %+v, want RELEASE and TEST", list.Grants)
	}

	var rv grantRevokedJSON
	e.json(&rv, "grant", "revoke", "--api", "orders", "--app", "x", "--stage", "TEST")
	if rv != (grantRevokedJSON{API: "orders", AppID: "x", Stage: "TEST", Revoked: true}) {
		t.Errorf("grant revoke answered %+v", rv)
	}
	list.Grants = nil
	e.json(&list, "grant", "list", "--api", "orders")
	if len(list.Grants) != 1 || list.Grants[0].Stage != "RELEASE" {
		t.Errorf("after revoke, grants = %+v, want RELEASE only", list.Grants)
	}

	for args, want := range map[[3]string]string{
		{"revoke", "orders", "x"}:  `authzctl: no grant of API "orders" to app "x" for stage TEST: see 'authzctl grant list --api orders'`,
		{"add", "orders", "nope"}:  `authzctl: app "nope" not found: see 'authzctl app list'`,
		{"add", "nope", "x"}:       `authzctl: API "nope" not found: see 'authzctl api list'`,
		{"revoke", "nope", "x"}:    `authzctl: API "nope" not found: see 'authzctl api list'`,
		{"revoke", "orders", "no"}: `authzctl: app "no" not found: see 'authzctl app list'`,
	} {
		if line := e.fail("grant", args[0], "--api", args[1], "--app", args[2], "--stage", "TEST"); line != want {
			t.Errorf("grant %v:\ngot  %q\nwant %q", args, line, want)
		}
	}
	if line := e.fail("grant", "list", "--api", "nope"); line != `authzctl: API "nope" not found: see 'authzctl api list'` {
		t.Errorf("grant list of unknown API: %q", line)
	}
}
