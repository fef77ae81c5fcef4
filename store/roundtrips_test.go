package store

import (
	"context"
	"testing"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store/redistest"
)

// Lookup and Principal each cost one round trip however many records they
// read: the budget of a Check without cache.
func TestRoundTrips(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	mustCreateApp(t, s, "app2")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1"}); err != nil {
		t.Fatal(err)
	}
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)
	if err := rdb.Ping(ctx).Err(); err != nil { // connection set-up is not the Check's
		t.Fatal(err)
	}
	h := authz.HashAppCode(a.AppCode)

	for name, call := range map[string]func() error{
		"lookup by id": func() error {
			_, err := s.Lookup(ctx, authz.LookupQuery{APIID: "orders", AppKeys: []string{"app1-key-0123456789", "app2-key-0123456789", "ghost"},
				AppCodeHashes: []string{h, authz.HashAppCode("x")}, TokenHashes: []string{h}})
			return err
		},
		"lookup by route": func() error {
			_, err := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"app1-key-0123456789"}})
			return err
		},
		"principal": func() error {
			_, err := s.Principal(ctx, authz.PrincipalQuery{APIID: "orders", AppIDs: []string{"app1", "app2"}, GrantAPI: "orders", Stage: "TEST"})
			return err
		},
		"ping": func() error { return s.Ping(ctx) },
	} {
		hook.Reset()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := hook.RoundTrips(); n != 1 {
			t.Errorf("%s: %d round trips, want 1", name, n)
		}
	}

	// The hook does count every call: two Lookups are two round trips.
	hook.Reset()
	for range 2 {
		if _, err := s.Lookup(ctx, authz.LookupQuery{APIID: "orders"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := hook.RoundTrips(); n != 2 {
		t.Errorf("two lookups: %d round trips, want 2", n)
	}
}
