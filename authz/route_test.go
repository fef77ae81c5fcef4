package authz

import (
	"context"
	"errors"
	"testing"
)

func TestMatchRoute(t *testing.T) {
	routes := []Route{
		{API: "any", PathPrefix: "/"},
		{API: "orders", PathPrefix: "/orders"},
		{API: "orders-host", Host: "shop.example.com", PathPrefix: "/orders"},
		{API: "orders-wild", Host: "*.example.com", PathPrefix: "/orders"},
		{API: "orders-post", PathPrefix: "/orders", Methods: []string{"POST"}},
		{API: "static", PathPrefix: "/static/"},
		{API: "colon", PathPrefix: "/a:b"},
		{API: "spelled", Host: "Spelled.Example.COM.", PathPrefix: "/%7Euser//x/"},
	}
	tests := []struct {
		host, method, path, want string
	}{
		{"other.org", "GET", "/", "any"},
		{"other.org", "GET", "/orders", "orders"},
		{"other.org", "GET", "/orders/7", "orders"},
		{"other.org", "GET", "/ordersheet", "any"},
		{"shop.example.com", "GET", "/orders/7", "orders-host"},
		{"SHOP.example.com:8443", "GET", "/orders", "orders-host"},
		{"eu.example.com", "GET", "/orders", "orders-wild"},
		{"example.com", "GET", "/orders", "orders"},
		{"other.org", "post", "/orders", "orders-post"},
		{"other.org", "GET", "/static/app.js", "static"},
		{"other.org", "GET", "/static", "any"},
		// Spellings of one resource resolve alike.
		{"shop.example.com.", "GET", "/orders", "orders-host"},
		{"Shop.Example.Com.:443", "GET", "/orders", "orders-host"},
		{"other.org", "GET", "//orders/7", "orders"},
		{"other.org", "GET", "/x/../orders/7", "orders"},
		{"other.org", "GET", "/./orders", "orders"},
		{"other.org", "GET", "/%6Frders", "orders"},
		{"other.org", "GET", "/orders/%2e%2E/static/x", "static"},
		{"other.org", "GET", "/a%3Ab/c", "colon"},
		{"other.org", "GET", "/a:b", "colon"},
		{"other.org", "GET", "/orders/7;jsessionid=1", "orders"}, // same API with or without the parameter
		{"other.org", "GET", "/static/a;b/c", "static"},
		{"spelled.example.com", "GET", "/~user/x/1", "spelled"},
	}
	for _, tc := range tests {
		got, ok, err := MatchRoute(routes, tc.host, tc.method, tc.path)
		if err != nil || !ok || got.API != tc.want {
			t.Errorf("%s %s %s: got %q (%v, %v), want %q", tc.method, tc.host, tc.path, got.API, ok, err, tc.want)
		}
	}
	if _, ok, _ := MatchRoute(routes[1:2], "x", "GET", "/other"); ok {
		t.Errorf("a path outside every prefix must not match")
	}
	if _, ok, _ := MatchRoute(nil, "x", "GET", "/"); ok {
		t.Errorf("an empty table must not match")
	}
}

// TestMatchRouteRefusesAmbiguity: the admin/catch-all scenario. Every
// spelling either reaches admin or is refused; none falls to the weaker
// catch-all.
func TestMatchRouteRefusesAmbiguity(t *testing.T) {
	routes := []Route{
		{API: "public", PathPrefix: "/"},
		{API: "admin", Host: "api.example.com", PathPrefix: "/admin"},
	}
	tests := []struct {
		host, path string
		want       string // "" = refused
	}{
		{"api.example.com", "/admin/users", "admin"},
		{"api.example.com", "//admin/users", "admin"},
		{"api.example.com", "/admin//users", "admin"},
		{"api.example.com", "/x/../admin/users", "admin"},
		{"api.example.com", "/./admin", "admin"},
		{"api.example.com", "/%61dmin/users", "admin"},
		{"api.example.com", "/%2e/admin/users", "admin"},
		{"api.example.com", "/x/%2e%2e/admin/users", "admin"},
		{"api.example.com", "/admin;x=1", ""},
		{"api.example.com", "/admin/users;x=1", "admin"},
		{"api.example.com.", "/admin/users", "admin"},
		{"API.example.com:80", "/admin/users", "admin"},
		{"api.example.com:443", "/admin/users", "admin"},
		{"api.example.com", "/admin;x=1/users", ""},
		{"api.example.com", "/admin%2Fusers", ""},
		{"api.example.com", "/admin%2fusers", ""},
		{"api.example.com", `/admin\users`, ""},
		{"api.example.com", "/x%5C..%5Cadmin", ""},
		{"api.example.com", "/%252e%252e/admin", ""},
		{"api.example.com", "/adm%zzin", ""},
		{"api.example.com", "/admin%00/x", ""},
		{"api.example.com", "admin/users", ""},
		{"api.example.com", "/public;/../admin/users", "admin"},
		{"api.example.com", "/x/..;/admin/users", ""},
		{"api.example.com", "/;x/admin", ""},
		{"api.example.com", "/admin;/../x", "public"}, // /x either way
		{"api.example.com..", "/admin", ""},
		{"api.example.com:x", "/admin", ""},
		{"api.example.com", "/public/admin", "public"},
		{"other.example.com", "/admin", "public"},
	}
	for _, tc := range tests {
		got, ok, err := MatchRoute(routes, tc.host, "GET", tc.path)
		switch {
		case tc.want == "" && (err == nil || !errors.Is(err, ErrUnsafePath)):
			t.Errorf("%s %s: got %q (%v), want refused with ErrUnsafePath", tc.host, tc.path, got.API, ok)
		case tc.want != "" && (err != nil || got.API != tc.want):
			t.Errorf("%s %s: got %q (%v), want %q", tc.host, tc.path, got.API, err, tc.want)
		}
	}
}

// TestCheckRoutesNormalizedPaths: through the engine, every spelling of
// /admin either reaches admin (NotAuthorized: app1 has no grant) or is a
// BadRequest; none is allowed by the catch-all.
func TestCheckRoutesNormalizedPaths(t *testing.T) {
	f := fixture()
	f.apis["admin"] = &API{ID: "admin", Methods: []Method{MethodKey}, Access: AccessAuthorized}
	f.apis["public"] = &API{ID: "public", Methods: []Method{MethodKey}, Access: AccessAuthenticated}
	f.routes = []Route{{API: "public", PathPrefix: "/"}, {API: "admin", Host: "api.example.com", PathPrefix: "/admin"}}
	e := NewEngine(f)
	for _, tc := range []struct {
		host, path string
		want       Reason
	}{
		{"api.example.com", "/public/x", ReasonOK},
		{"api.example.com", "/admin/users", ReasonNotAuthorized},
		{"api.example.com", "//admin/users", ReasonNotAuthorized},
		{"api.example.com", "/x/../admin/users", ReasonNotAuthorized},
		{"api.example.com", "/%61dmin/users", ReasonNotAuthorized},
		{"api.example.com.", "/admin/users", ReasonNotAuthorized},
		{"API.example.com:80", "/admin/users", ReasonNotAuthorized},
		{"api.example.com", "/admin;x=1/users", ReasonBadRequest},
		{"api.example.com", "/admin%2Fusers", ReasonBadRequest},
		{"api.example.com", `/admin\users`, ReasonBadRequest},
	} {
		r := req("GET", tc.path+"?q=1", map[string]string{"x-app-key": "k1"}, nil)
		r.Host = tc.host
		d := e.Check(context.Background(), r)
		if d.Reason != tc.want {
			t.Errorf("%s %s: %s (%s), want %s", tc.host, tc.path, d.Reason, d.Message, tc.want)
		}
		if d.Reason == ReasonOK && d.Identity.API != "public" || d.Reason == ReasonNotAuthorized && d.Identity.API != "admin" {
			t.Errorf("%s %s: resolved to %q", tc.host, tc.path, d.Identity.API)
		}
		if r.Path != tc.path {
			t.Errorf("the request path was rewritten: %q", r.Path)
		}
	}
}
