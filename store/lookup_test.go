package store

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestLookup(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Route: authz.Route{PathPrefix: "/o"}}); err != nil {
		t.Fatal(err)
	}
	tokenHash := authz.HashAppCode("some-bearer-token")
	if err := rdb.Set(ctx, "appauthz:token:{"+tokenHash+"}", `{"app_id":"app1","app_key":"app1-key-0123456789","scopes":["r"]}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	codeHash := authz.HashAppCode(a.AppCode)
	missing := authz.HashAppCode("nobody")

	res, err := s.Lookup(ctx, authz.LookupQuery{
		APIID:         "orders",
		AppKeys:       []string{"app1-key-0123456789", "ghost-key", "app1-key-0123456789", "x}{y"},
		AppCodeHashes: []string{codeHash, missing, "not-a-hash"},
		TokenHashes:   []string{tokenHash, missing},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.API == nil || res.API.ID != "orders" || res.Routes != nil {
		t.Errorf("API = %+v, routes = %v", res.API, res.Routes)
	}
	wantKey := &authz.Key{KeyID: a.KeyID, AppID: "app1", Secret: "app1-secret-1", Status: authz.StatusActive}
	if len(res.Keys) != 1 || !reflect.DeepEqual(res.Keys[authz.HashAppKey("app1-key-0123456789")], wantKey) {
		t.Errorf("Keys = %+v, want only %+v", res.Keys, wantKey)
	}
	if len(res.AppCodes) != 1 || !reflect.DeepEqual(res.AppCodes[codeHash], &authz.AppCodeRecord{AppID: "app1", Status: authz.StatusActive}) {
		t.Errorf("AppCodes = %+v", res.AppCodes)
	}
	// A format-1 token record (app_key in clear) reads with the key id
	// the migration will give the key.
	wantTok := &authz.Token{AppID: "app1", KeyID: legacyKeyID(authz.HashAppKey("app1-key-0123456789")), Scopes: []string{"r"}}
	if len(res.Tokens) != 1 || !reflect.DeepEqual(res.Tokens[tokenHash], wantTok) {
		t.Errorf("Tokens = %+v", res.Tokens)
	}

	// No API id: the route table instead.
	res, err = s.Lookup(ctx, authz.LookupQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if res.API != nil || len(res.Routes) != 1 || res.Routes[0].API != "orders" || res.Routes[0].PathPrefix != "/o" {
		t.Errorf("route lookup = %+v", res)
	}
	// An unknown API is nil, not an error.
	res, err = s.Lookup(ctx, authz.LookupQuery{APIID: "ghost"})
	if err != nil || res.API != nil {
		t.Errorf("unknown API = %+v, %v", res.API, err)
	}
}

// Hashes written by hand (or an older version) take the contract defaults.
func TestLookupAPIDefaults(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	rdb.HSet(ctx, "appauthz:api:{bare}", "methods", "appcode")
	res, err := s.Lookup(ctx, authz.LookupQuery{APIID: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	want := &authz.API{
		ID: "bare", Methods: []authz.Method{authz.MethodAppCode}, AppCodeMode: authz.AppCodeHeader,
		Access: authz.AccessAuthorized, ClockSkew: authz.DefaultClockSkew, ReplayProtection: true,
		Route: authz.Route{API: "bare"},
	}
	if !reflect.DeepEqual(res.API, want) {
		t.Fatalf("API = %+v\nwant %+v", res.API, want)
	}

	// A corrupt record fails closed with an error naming it.
	rdb.HSet(ctx, "appauthz:api:{bad}", "methods", "key", "access", "everyone")
	if _, err := s.Lookup(ctx, authz.LookupQuery{APIID: "bad"}); err == nil {
		t.Fatal("corrupt API hash decoded without error")
	}
	rdb.HSet(ctx, "appauthz:key:{"+authz.HashAppKey("k")+"}", "app_id", "a", "expires_at", "tomorrow")
	if _, err := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"k"}}); err == nil {
		t.Fatal("corrupt key hash decoded without error")
	}
}

func TestPrincipal(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	mustCreateApp(t, s, "app2")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppStatus(ctx, "app2", authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}

	res, err := s.Principal(ctx, authz.PrincipalQuery{APIID: "orders", AppIDs: []string{"app1", "app2", "ghost"}, GrantAPI: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if res.API == nil || res.API.ID != "orders" {
		t.Errorf("API = %+v", res.API)
	}
	wantApps := map[string]*authz.App{
		"app1": {ID: "app1", Name: "App app1", Status: authz.StatusActive},
		"app2": {ID: "app2", Name: "App app2", Status: authz.StatusDisabled},
	}
	if !reflect.DeepEqual(res.Apps, wantApps) {
		t.Errorf("Apps = %+v", res.Apps)
	}
	if len(res.Grants) != 1 || res.Grants["app1"] == nil || !res.Grants["app1"].ExpiresAt.Never() {
		t.Errorf("Grants = %+v, want app1 without expiry (stage defaults to RELEASE)", res.Grants)
	}
	// Another stage has no grant; no GrantAPI reads none.
	res, _ = s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: "TEST"})
	if len(res.Grants) != 0 || res.API != nil {
		t.Errorf("stage TEST: %+v", res)
	}
	res, _ = s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}})
	if len(res.Grants) != 0 || len(res.Apps) != 1 {
		t.Errorf("no GrantAPI: %+v", res)
	}
}

// Of 64 concurrent claims of one id exactly one is fresh, and the guard
// expires with its TTL.
func TestAdmitNonce(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	claim := func(id string, ttl time.Duration) (bool, error) {
		r, err := s.Admit(ctx, authz.AdmitQuery{AppID: "app1", Nonce: id, NonceTTL: ttl})
		return err == nil && !r.Replayed, err
	}
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			ok, err := claim("sig-1", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d fresh claims, want 1", fresh.Load())
	}
	ttl, err := rdb.PTTL(ctx, "appauthz:seen:{app1}:sig-1").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %v, %v; want within (0, 1m]", ttl, err)
	}
	if ok, _ := claim("sig-2", time.Minute); !ok {
		t.Error("a different id was not fresh")
	}
	for _, tc := range []struct {
		id  string
		ttl time.Duration
	}{{"x", 0}, {"x", -time.Second}} {
		if _, err := claim(tc.id, tc.ttl); err == nil {
			t.Errorf("Admit(%q, %v) succeeded", tc.id, tc.ttl)
		}
	}
}
