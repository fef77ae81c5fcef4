package store

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// A whole Check, decided by the real engine over the real store without a
// cache, costs at most two Redis round trips, plus one to claim the replay
// nonce of a signature and charge the app's limits together.
func TestCheckRoundTrips(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	for _, api := range []authz.API{
		{ID: "named", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC}, AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true},
		{ID: "routed", Methods: []authz.Method{authz.MethodKey}, Access: authz.AccessAuthorized, Route: authz.Route{PathPrefix: "/routed"}},
		{ID: "limited", Methods: []authz.Method{authz.MethodKey, authz.MethodHMAC}, Access: authz.AccessAuthorized, ReplayProtection: true,
			Limits: authz.Limits{Rate: authz.RateLimit{Count: 1000, Period: time.Second}, Quota: 1000}},
	} {
		if err := s.CreateAPI(ctx, api); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGrant(ctx, GrantInfo{API: api.ID, AppID: "app1"}); err != nil {
			t.Fatal(err)
		}
	}
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadScripts(ctx); err != nil { // else the first EVALSHA falls back to EVAL
		t.Fatal(err)
	}
	e := authz.NewEngine(s)

	now := time.Now()
	signed, err := sign.HMAC{Key: a.AppKey, Secret: a.AppSecret, Now: now}.Sign(sign.HMACRequest{Method: "GET", RequestURI: "/x", Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	signed2, err := sign.HMAC{Key: a.AppKey, Secret: a.AppSecret, Now: now}.Sign(sign.HMACRequest{Method: "GET", RequestURI: "/y", Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        *authz.Request
		roundTrips int64
		allow      bool
	}{
		{"appcode, API named by the route", &authz.Request{Method: "GET", Path: "/x",
			Headers: map[string]string{"authorization": "APPCODE " + a.AppCode}, Context: map[string]string{"api": "named"}}, 2, true},
		{"key, API from the route table", &authz.Request{Method: "GET", Path: "/routed/1",
			Headers: map[string]string{"x-app-key": a.AppKey}}, 2, true},
		{"hmac with replay guard", &authz.Request{Method: "GET", Path: "/x", Host: "h", Protocol: "HTTP/1.1",
			Headers: map[string]string{"authorization": signed.Authorization, "date": signed.Date}, Context: map[string]string{"api": "named"}}, 3, true},
		{"key with limits", &authz.Request{Method: "GET", Path: "/x",
			Headers: map[string]string{"x-app-key": a.AppKey}, Context: map[string]string{"api": "limited"}}, 3, true},
		{"hmac with replay guard and limits", &authz.Request{Method: "GET", Path: "/y", Host: "h", Protocol: "HTTP/1.1",
			Headers: map[string]string{"authorization": signed2.Authorization, "date": signed2.Date}, Context: map[string]string{"api": "limited"}}, 3, true},
		{"unknown key stops after one", &authz.Request{Method: "GET", Path: "/x",
			Headers: map[string]string{"x-app-key": "nope"}, Context: map[string]string{"api": "named"}}, 1, false},
	}
	for _, tc := range tests {
		hook.Reset()
		d := e.Check(ctx, tc.req)
		if d.Allow != tc.allow {
			t.Fatalf("%s: allow = %v (%s: %s)", tc.name, d.Allow, d.Reason, d.Message)
		}
		if n := hook.RoundTrips(); n != tc.roundTrips {
			t.Errorf("%s: %d Redis round trips, want %d", tc.name, n, tc.roundTrips)
		}
	}
}
