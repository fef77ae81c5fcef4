package authz

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDenyHintsGoToTheLog: a deny body is for the API caller, so it names
// no operator command and no internal id; the fix (an authzctl command with
// the ids) travels in Detail, which the adapters log for the operator.
func TestDenyHintsGoToTheLog(t *testing.T) {
	f := fixture()
	f.apis["ro"] = &API{ID: "ro", Methods: []Method{MethodKey}, Access: AccessAuthenticated,
		MethodScopes: map[string][]string{"GET": {"orders:read"}}}
	f.routes = append(f.routes, Route{API: "gone-api", PathPrefix: "/gone"})
	e := NewEngine(f, WithClock(func() time.Time { return testNow }))
	tests := []struct {
		name   string
		req    *Request
		reason Reason
		hidden []string // in Detail, never in Message
		shown  string   // in Message
	}{
		{"no grant on the stage", req("GET", "/orders", map[string]string{"x-app-key": "k5"}, map[string]string{"api": "orders", "stage": "TEST"}),
			ReasonNotAuthorized, []string{"authzctl grant add", "app3", "TEST"}, ReasonNotAuthorized.DefaultMessage()},
		{"API named by the route is not defined", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("missing")),
			ReasonUnknownAPI, []string{"authzctl api create", "missing"}, ReasonUnknownAPI.DefaultMessage()},
		{"route table names an undefined API", req("GET", "/gone/1", map[string]string{"x-app-key": "k1"}, nil),
			ReasonUnknownAPI, []string{"authzctl api create", "gone-api"}, ReasonUnknownAPI.DefaultMessage()},
		{"method no rule covers", req("PATCH", "/x", map[string]string{"x-app-key": "k1"}, api("ro")),
			ReasonInsufficientScope, []string{"authzctl api update ro --method-scopes"}, "method PATCH is not allowed on this API: its method scopes cover only GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Check(context.Background(), tc.req)
			if d.Allow || d.Reason != tc.reason {
				t.Fatalf("allow=%v %s (%s), want %s", d.Allow, d.Reason, d.Message, tc.reason)
			}
			if d.Message != tc.shown {
				t.Errorf("message %q, want %q", d.Message, tc.shown)
			}
			for _, s := range tc.hidden {
				if strings.Contains(d.Message, s) {
					t.Errorf("message %q tells the caller %q", d.Message, s)
				}
				if !strings.Contains(d.Detail, s) {
					t.Errorf("detail %q does not tell the operator %q", d.Detail, s)
				}
			}
		})
	}
}
