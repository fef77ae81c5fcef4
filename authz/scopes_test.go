package authz

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRequiredScopes(t *testing.T) {
	readWrite := map[string][]string{"GET": {"orders:read"}, "HEAD": {"orders:read"},
		"POST": {"orders:write"}, "PUT": {"orders:write"}, "DELETE": {"orders:write"}}
	withAny := map[string][]string{"GET": {"orders:read"}, "HEAD": {"orders:read"}, AnyMethod: {"orders:write"}}
	tests := map[string]struct {
		scopes       []string
		methodScopes map[string][]string
		method       string
		want         []string
		wantOK       bool
	}{
		"no method scopes: any method needs Scopes": {[]string{"base"}, nil, "PATCH", []string{"base"}, true},
		"no scopes at all":                          {nil, nil, "DELETE", nil, true},
		"listed method":                             {nil, readWrite, "GET", []string{"orders:read"}, true},
		"listed method, lower case":                 {nil, readWrite, "put", []string{"orders:write"}, true},
		"listed method adds to Scopes":              {[]string{"base"}, readWrite, "POST", []string{"base", "orders:write"}, true},
		"unlisted method is refused":                {nil, readWrite, "PATCH", nil, false},
		"unlisted OPTIONS is refused":               {[]string{"base"}, readWrite, "OPTIONS", nil, false},
		"made-up method is refused":                 {nil, readWrite, "BREW", nil, false},
		"* covers an unlisted method":               {nil, withAny, "PATCH", []string{"orders:write"}, true},
		"* does not add to a listed method":         {nil, withAny, "GET", []string{"orders:read"}, true},
		"* with Scopes":                             {[]string{"base"}, withAny, "delete", []string{"base", "orders:write"}, true},
		"duplicate scope counted once":              {[]string{"orders:write"}, withAny, "POST", []string{"orders:write"}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := &API{ID: "orders", Scopes: tc.scopes, MethodScopes: tc.methodScopes}
			got, ok := a.RequiredScopes(tc.method)
			if ok != tc.wantOK || !slices.Equal(got, tc.want) {
				t.Errorf("RequiredScopes(%s) = %v, %v; want %v, %v", tc.method, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParseMethodScopesAnyMethod(t *testing.T) {
	got, err := ParseMethodScopes("GET,HEAD=orders:read; *=orders:write")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[AnyMethod], []string{"orders:write"}) || !slices.Equal(got["GET"], []string{"orders:read"}) {
		t.Fatalf("got %v", got)
	}
	text := FormatMethodScopes(got)
	if text != "*=orders:write;GET=orders:read;HEAD=orders:read" {
		t.Errorf("FormatMethodScopes = %q", text)
	}
	if back, err := ParseMethodScopes(text); err != nil || FormatMethodScopes(back) != text {
		t.Errorf("round trip of %q: %v, %v", text, back, err)
	}
	for _, bad := range []string{"**=a", "G*=a", "*GET=a", "-=a"} {
		if _, err := ParseMethodScopes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The method-scope check through the engine: a read-only key may read, and
// a method no rule names is refused unless a "*" rule covers it.
func TestMethodScopesFailClosed(t *testing.T) {
	f := fixture()
	f.apis["ro"] = &API{ID: "ro", Methods: []Method{MethodKey}, Access: AccessAuthenticated,
		MethodScopes: map[string][]string{"GET": {"orders:read"}, "HEAD": {"orders:read"},
			"POST": {"orders:write"}, "PUT": {"orders:write"}, "DELETE": {"orders:write"}}}
	f.apis["any"] = &API{ID: "any", Methods: []Method{MethodKey}, Access: AccessAuthenticated,
		MethodScopes: map[string][]string{"GET": {"orders:read"}, "HEAD": {"orders:read"}, AnyMethod: {"orders:write"}}}
	f.apis["none"] = &API{ID: "none", Methods: []Method{MethodKey}, Access: AccessAuthenticated}
	// k1 holds orders:read, kw orders:read and orders:write.
	e := NewEngine(f, WithClock(func() time.Time { return testNow }))
	tests := []struct {
		api, method, key string
		want             Reason
		msg              string // in the deny message
	}{
		{"ro", "GET", "k1", ReasonOK, ""},
		{"ro", "HEAD", "k1", ReasonOK, ""},
		{"ro", "POST", "k1", ReasonInsufficientScope, "orders:write"},
		{"ro", "PATCH", "k1", ReasonInsufficientScope, "method PATCH is not allowed"},
		{"ro", "PATCH", "kw", ReasonInsufficientScope, "DELETE, GET, HEAD, POST, PUT"},
		{"ro", "patch", "kw", ReasonInsufficientScope, "method PATCH"},
		{"ro", "PUT", "kw", ReasonOK, ""},
		{"any", "GET", "k1", ReasonOK, ""},
		{"any", "PATCH", "k1", ReasonInsufficientScope, "orders:write"},
		{"any", "PATCH", "kw", ReasonOK, ""},
		{"any", "OPTIONS", "kw", ReasonOK, ""},
		{"none", "PATCH", "k1", ReasonOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.api+" "+tc.method+" "+tc.key, func(t *testing.T) {
			d := e.Check(context.Background(), req(tc.method, "/x", map[string]string{"x-app-key": tc.key}, api(tc.api)))
			if d.Reason != tc.want {
				t.Fatalf("reason %s (%s), want %s", d.Reason, d.Message, tc.want)
			}
			if !strings.Contains(d.Message, tc.msg) {
				t.Errorf("message %q does not mention %q", d.Message, tc.msg)
			}
		})
	}
}
