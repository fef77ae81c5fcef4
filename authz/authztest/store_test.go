package authztest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func demo() *Store {
	return New().
		API(authz.API{ID: "demo", Methods: []authz.Method{authz.MethodKey}, Route: authz.Route{API: "demo", PathPrefix: "/demo"}}).
		App(authz.App{ID: "demo-app", Name: "Demo", Status: authz.StatusActive}).
		Key("K1", authz.Key{KeyID: "kid", AppID: "demo-app", Secret: "S1", Status: authz.StatusActive}).
		AppCode("CODE", authz.AppCodeRecord{AppID: "demo-app", Status: authz.StatusActive}).
		Token("TOK", authz.Token{AppID: "demo-app", KeyID: "kid"}).
		Grant("demo", authz.DefaultStage, "demo-app", authz.Grant{}).
		Limits("demo", "demo-app", authz.Limits{Quota: 10}).
		MaxClockSkew(time.Minute)
}

func TestLookup(t *testing.T) {
	tests := map[string]struct {
		q                            authz.LookupQuery
		wantAPI                      bool
		wantRoutes, keys, codes, tok int
		wantSkew                     time.Duration
	}{
		"by API id with every credential": {
			q:       authz.LookupQuery{APIID: "demo", AppKeys: []string{"K1", "nope"}, AppCodeHashes: []string{authz.HashAppCode("CODE")}, TokenHashes: []string{authz.HashToken("TOK")}},
			wantAPI: true, keys: 1, codes: 1, tok: 1, wantSkew: time.Minute,
		},
		"route table when no API is named": {q: authz.LookupQuery{}, wantRoutes: 1},
		"unknown API and credentials":      {q: authz.LookupQuery{APIID: "other", AppCodeHashes: []string{authz.HashAppCode("x")}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := demo().Lookup(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if (res.API != nil) != tc.wantAPI || len(res.Routes) != tc.wantRoutes || len(res.Keys) != tc.keys ||
				len(res.AppCodes) != tc.codes || len(res.Tokens) != tc.tok || res.MaxClockSkew != tc.wantSkew {
				t.Errorf("Lookup = %+v", res)
			}
			if k := res.Keys[authz.HashAppKey("K1")]; tc.keys == 1 && (k == nil || k.Secret != "S1") {
				t.Errorf("key K1 = %+v; want it by its hash", k)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	tests := map[string]struct {
		q                    authz.PrincipalQuery
		apps, grants, limits int
	}{
		"granted with own limits": {q: authz.PrincipalQuery{AppIDs: []string{"demo-app"}, GrantAPI: "demo", Stage: authz.DefaultStage, LimitAPI: "demo"}, apps: 1, grants: 1, limits: 1},
		"another stage":           {q: authz.PrincipalQuery{AppIDs: []string{"demo-app"}, GrantAPI: "demo", Stage: "test"}, apps: 1},
		"unknown app":             {q: authz.PrincipalQuery{AppIDs: []string{"ghost"}, GrantAPI: "demo", Stage: authz.DefaultStage}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := demo().Principal(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Apps) != tc.apps || len(res.Grants) != tc.grants || len(res.Limits) != tc.limits {
				t.Errorf("Principal = %+v", res)
			}
		})
	}
}

func TestRecordsAreCopies(t *testing.T) {
	s := demo()
	res, _ := s.Lookup(context.Background(), authz.LookupQuery{APIID: "demo"})
	res.API.ID = "changed"
	if again, _ := s.Lookup(context.Background(), authz.LookupQuery{APIID: "demo"}); again.API.ID != "demo" {
		t.Errorf("a caller's change reached the store: %q", again.API.ID)
	}
}

func TestAdmitReplayAndFailure(t *testing.T) {
	s := demo()
	ctx := context.Background()
	for i, want := range []bool{false, true} {
		res, err := s.Admit(ctx, authz.AdmitQuery{Nonce: "n1"})
		if err != nil || res.Replayed != want {
			t.Errorf("Admit #%d = %+v, %v; want replayed %v", i+1, res, err, want)
		}
	}
	if res, _ := s.Admit(ctx, authz.AdmitQuery{}); res.Replayed {
		t.Error("Admit without a nonce reported a replay")
	}
	down := errors.New("redis down")
	s.Fail(down)
	if _, err := s.Lookup(ctx, authz.LookupQuery{}); !errors.Is(err, down) {
		t.Errorf("Lookup after Fail = %v; want %v", err, down)
	}
	if _, err := s.Principal(ctx, authz.PrincipalQuery{}); !errors.Is(err, down) {
		t.Errorf("Principal after Fail = %v; want %v", err, down)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	s.Fail(nil)
	if _, err := s.Admit(canceled, authz.AdmitQuery{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Admit with a canceled context = %v; want context.Canceled", err)
	}
	if l, p, a := s.Calls(); l != 1 || p != 1 || a != 4 {
		t.Errorf("Calls = %d, %d, %d; want 1, 1, 4", l, p, a)
	}
}

// The store drives the real engine: a key request is allowed and the
// same signature is refused as a replay.
func TestWithEngine(t *testing.T) {
	e := authz.NewEngine(demo())
	r := &authz.Request{Method: "GET", Host: "api.example.com", Path: "/demo/x", Protocol: "HTTP/1.1",
		Headers: map[string]string{"x-app-key": "K1"}, Context: map[string]string{"api": "demo"}}
	if d := e.Check(context.Background(), r); !d.Allow || d.Identity.AppID != "demo-app" {
		t.Errorf("Check = %+v; want allow for demo-app", d)
	}
	r.Headers["x-app-key"] = "unknown"
	if d := e.Check(context.Background(), r); d.Allow {
		t.Errorf("Check with an unknown key = %+v; want deny", d)
	}
}
