package store

import (
	"context"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

// A route is saved only in the form requests are matched in; anything else
// is refused, naming the form to use (or why no request can match it).
func TestRouteMustBeCanonical(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	key := []authz.Method{authz.MethodKey}
	refused := map[string]struct {
		route authz.Route
		want  string
	}{
		"escaped letter":      {authz.Route{PathPrefix: "/%61dmin"}, `use "/admin"`},
		"lower-case escape":   {authz.Route{PathPrefix: "/caf%c3%a9"}, `use "/caf%C3%A9"`},
		"empty segment":       {authz.Route{PathPrefix: "//admin"}, `use "/admin"`},
		"dot segments":        {authz.Route{PathPrefix: "/x/../admin/./users"}, `use "/admin/users"`},
		"escaped dot segment": {authz.Route{PathPrefix: "/x/%2E%2E/admin"}, `use "/admin"`},
		"encoded slash":       {authz.Route{PathPrefix: "/a%2Fb"}, "no request path can match it"},
		"backslash":           {authz.Route{PathPrefix: `/a\b`}, "no request path can match it"},
		"double encoding":     {authz.Route{PathPrefix: "/%2561dmin"}, "no request path can match it"},
		"path parameter":      {authz.Route{PathPrefix: "/admin;v=1/users"}, `"/admin/users"`},
		"host with port":      {authz.Route{Host: "api.example.com:8443"}, `use "api.example.com"`},
		"host trailing dot":   {authz.Route{Host: "api.example.com."}, `use "api.example.com"`},
		"host empty label":    {authz.Route{Host: "api..example.com"}, "empty label"},
		"inner wildcard":      {authz.Route{Host: "api.*.example.com"}, "wildcard"},
		"partial wildcard":    {authz.Route{Host: "*api.example.com"}, "wildcard"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			err := s.CreateAPI(ctx, authz.API{ID: "r", Methods: key, Route: tc.route})
			if err == nil {
				t.Fatalf("CreateAPI with route %+v succeeded", tc.route)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if _, err := s.GetAPI(ctx, "r"); err == nil {
				t.Error("the refused API was stored")
			}
		})
	}

	// Canonical forms are saved as given (hosts in lower case), and match.
	accepted := []authz.Route{
		{Host: "API.Example.com", PathPrefix: "/orders/"},
		{Host: "*.example.com", PathPrefix: "/caf%C3%A9"},
		{Host: "*", PathPrefix: "/a:b@c"},
		{Host: "[::1]", PathPrefix: "/"},
	}
	for i, rt := range accepted {
		id := "ok" + string(rune('a'+i))
		if err := s.CreateAPI(ctx, authz.API{ID: id, Methods: key, Route: rt}); err != nil {
			t.Errorf("CreateAPI(%+v): %v", rt, err)
			continue
		}
		got, err := s.GetAPI(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.ToLower(rt.Host); got.Route.Host != want || got.Route.PathPrefix != rt.PathPrefix {
			t.Errorf("stored route %+v; want host %q, prefix %q", got.Route, want, rt.PathPrefix)
		}
		if _, ok, err := authz.MatchRoute([]authz.Route{got.Route}, matchHost(got.Route.Host), "GET", got.Route.PathPrefix); !ok || err != nil {
			t.Errorf("route %+v does not match its own host and prefix (ok %v, err %v)", got.Route, ok, err)
		}
	}
}

// matchHost is a request host a route host matches.
func matchHost(h string) string {
	switch {
	case h == "*":
		return "any.example"
	case strings.HasPrefix(h, "*."):
		return "x" + h[1:]
	}
	return h
}
