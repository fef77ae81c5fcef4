package authz

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBearerAndMethodScopes(t *testing.T) {
	f := fixture()
	f.apis["tok"] = &API{ID: "tok", Methods: []Method{MethodOAuth2, MethodKey, MethodAppCode}, AppCodeMode: AppCodeHeader, Access: AccessAuthenticated,
		MethodScopes: map[string][]string{"GET": {"orders:read"}, "POST": {"orders:write"}, "DELETE": {"orders:write", "orders:admin"}}}
	f.tokens[HashToken("rw-token")] = &Token{AppID: "app1", KeyID: "kid_kw", Scopes: []string{"orders:read", "orders:write"}}
	f.tokens[HashToken("ro-token")] = &Token{AppID: "app1", KeyID: "kid_k1", Scopes: []string{"orders:read"}}
	f.tokens[HashToken("off-token")] = &Token{AppID: "app2", KeyID: "kid_k2"}
	e := NewEngine(f, WithClock(func() time.Time { return testNow }))
	tests := []struct {
		name, method, auth string
		header             string // X-App-Key
		reason             Reason
		scopes             string
	}{
		{"token GET", "GET", "Bearer rw-token", "", ReasonOK, "orders:read orders:write"},
		{"token POST", "POST", "bearer rw-token", "", ReasonOK, "orders:read orders:write"},
		{"token lacks admin for DELETE", "DELETE", "Bearer rw-token", "", ReasonInsufficientScope, ""},
		{"read-only token POST", "POST", "Bearer ro-token", "", ReasonInsufficientScope, ""},
		// A method no rule names is refused, whatever the credential holds.
		{"method without rules", "PATCH", "Bearer ro-token", "", ReasonInsufficientScope, ""},
		{"method without rules, read-write token", "PATCH", "Bearer rw-token", "", ReasonInsufficientScope, ""},
		{"key, method without rules", "OPTIONS", "", "k1", ReasonInsufficientScope, ""},
		{"lowercase method", "get", "Bearer ro-token", "", ReasonOK, "orders:read"},
		{"unknown token", "GET", "Bearer nope", "", ReasonInvalidToken, ""},
		{"token of a disabled app", "GET", "Bearer off-token", "", ReasonAppDisabled, ""},
		{"empty bearer", "GET", "Bearer ", "", ReasonBadRequest, ""},
		{"not token68", "GET", "Bearer a b", "", ReasonBadRequest, ""},
		{"padding only at the end", "GET", "Bearer ab=c", "", ReasonBadRequest, ""},
		{"key GET", "GET", "", "k1", ReasonOK, "orders:read"},
		{"key POST", "POST", "", "k1", ReasonInsufficientScope, ""},
		{"AppCode has no key, so no scopes", "DELETE", "APPCODE CODE1", "", ReasonOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["authorization"] = tc.auth
			}
			if tc.header != "" {
				h["x-app-key"] = tc.header
			}
			d := e.Check(context.Background(), req(tc.method, "/x", h, api("tok")))
			if d.Reason != tc.reason {
				t.Fatalf("reason %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if d.Allow && strings.Join(d.Identity.Scopes, " ") != tc.scopes {
				t.Errorf("scopes %v, want %q", d.Identity.Scopes, tc.scopes)
			}
			if d.Allow && strings.HasPrefix(strings.ToLower(tc.auth), "bearer") {
				if d.Identity.Method != MethodOAuth2 || d.Identity.KeyID == "" || !slices.Contains(d.HeadersToRemove, "authorization") {
					t.Errorf("identity %+v, removed %v", d.Identity, d.HeadersToRemove)
				}
			}
			if tc.reason == ReasonInvalidToken && !slices.Contains(d.ResponseHeaders, HeaderValue{"www-authenticate", `Bearer realm="appauthz", error="invalid_token"`}) {
				t.Errorf("InvalidToken without the RFC 6750 challenge: %v", d.ResponseHeaders)
			}
		})
	}
}

func TestParseMethodScopes(t *testing.T) {
	got, err := ParseMethodScopes("GET,head=orders:read; POST,PUT,DELETE=orders:write orders:audit;DELETE=orders:admin;")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"GET": {"orders:read"}, "HEAD": {"orders:read"}, "POST": {"orders:write", "orders:audit"},
		"PUT": {"orders:write", "orders:audit"}, "DELETE": {"orders:write", "orders:audit", "orders:admin"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for m, s := range want {
		if !slices.Equal(got[m], s) {
			t.Errorf("%s: %v, want %v", m, got[m], s)
		}
	}
	if back, _ := ParseMethodScopes(FormatMethodScopes(got)); FormatMethodScopes(back) != FormatMethodScopes(got) {
		t.Errorf("format/parse do not round-trip: %q", FormatMethodScopes(got))
	}
	if ms, err := ParseMethodScopes(" "); ms != nil || err != nil {
		t.Errorf("blank: %v %v", ms, err)
	}
	for _, bad := range []string{"GET", "=a", "GET=", "G3T=a", `GET=a"b`} {
		if _, err := ParseMethodScopes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	a := &API{Scopes: []string{"base"}, MethodScopes: got}
	if r, ok := a.RequiredScopes("delete"); !ok || !slices.Equal(r, []string{"base", "orders:write", "orders:audit", "orders:admin"}) {
		t.Errorf("RequiredScopes(delete) = %v, %v", r, ok)
	}
	if r, ok := a.RequiredScopes("OPTIONS"); ok {
		t.Errorf("RequiredScopes(OPTIONS) = %v, true; want a method no rule names to be refused", r)
	}
}
