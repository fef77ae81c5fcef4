package main

import (
	"strings"
	"testing"
)

// A route host or prefix not in the form requests are matched in is a
// failed operation (exit 1) naming the form to use; nothing is written.
func TestAPIRouteMustBeCanonical(t *testing.T) {
	e := newEnv(t)
	tests := map[string]struct {
		args []string
		want string
	}{
		"escaped prefix":   {[]string{"api", "create", "--id", "x", "--methods", "key", "--path-prefix", "/%61dmin"}, `use "/admin"`},
		"dot segments":     {[]string{"api", "create", "--id", "x", "--methods", "key", "--path-prefix", "/v1/../admin"}, `use "/admin"`},
		"encoded slash":    {[]string{"api", "create", "--id", "x", "--methods", "key", "--path-prefix", "/a%2Fb"}, "no request path can match it"},
		"host with port":   {[]string{"api", "create", "--id", "x", "--methods", "key", "--host", "api.example.com:443"}, `use "api.example.com"`},
		"update to double": {[]string{"api", "update", "ok", "--path-prefix", "/orders//v2"}, `use "/orders/v2"`},
	}
	var created apiJSON
	e.json(&created, "api", "create", "--id", "ok", "--methods", "key", "--path-prefix", "/orders")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := e.run(tc.args...)
			if r.code != exitFail || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%v: %v; want exit 1 saying %q", tc.args, r, tc.want)
			}
		})
	}
	var list struct {
		APIs []apiJSON `json:"apis"`
	}
	e.json(&list, "api", "list")
	if len(list.APIs) != 1 {
		t.Errorf("refused writes left %+v", list.APIs)
	}
	var shown apiJSON
	e.json(&shown, "api", "show", "ok")
	if shown.Route == nil || shown.Route.PathPrefix != "/orders" {
		t.Errorf("a refused update changed the route to %+v", shown.Route)
	}
}
