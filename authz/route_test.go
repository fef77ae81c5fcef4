package authz

import "testing"

func TestMatchRoute(t *testing.T) {
	routes := []Route{
		{API: "any", PathPrefix: "/"},
		{API: "orders", PathPrefix: "/orders"},
		{API: "orders-host", Host: "shop.example.com", PathPrefix: "/orders"},
		{API: "orders-wild", Host: "*.example.com", PathPrefix: "/orders"},
		{API: "orders-post", PathPrefix: "/orders", Methods: []string{"POST"}},
		{API: "static", PathPrefix: "/static/"},
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
	}
	for _, tc := range tests {
		got, ok := MatchRoute(routes, tc.host, tc.method, tc.path)
		if !ok || got.API != tc.want {
			t.Errorf("%s %s %s: got %q (%v), want %q", tc.method, tc.host, tc.path, got.API, ok, tc.want)
		}
	}
	if _, ok := MatchRoute(routes[1:2], "x", "GET", "/other"); ok {
		t.Errorf("a path outside every prefix must not match")
	}
	if _, ok := MatchRoute(nil, "x", "GET", "/"); ok {
		t.Errorf("an empty table must not match")
	}
}
