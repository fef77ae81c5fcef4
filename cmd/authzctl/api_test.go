package main

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func TestAPICreate(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		args []string
		want authz.API
	}{
		{
			name: "defaults",
			args: []string{"--id", "plain", "--methods", "appcode,key"},
			want: authz.API{ID: "plain", Methods: []authz.Method{"appcode", "key"}, AppCodeMode: "header",
				Access: "authorized", ClockSkew: 300 * time.Second, ReplayProtection: true},
		},
		{
			name: "every flag",
			args: []string{"--id", "orders", "--methods", "HMAC,paramsign,oauth2", "--appcode-mode", "header-query",
				"--access", "authenticated", "--host", "API.example.com", "--path-prefix", "/orders",
				"--route-methods", "get,post", "--clock-skew", "90s", "--scopes", "orders.read,orders.write",
				"--hmac-algorithms", "hmac-sha256,HMAC-SHA512", "--enforce-headers", "Date,request-line,digest",
				"--replay-protection=false", "--timestamp-required"},
			want: authz.API{ID: "orders", Methods: []authz.Method{"hmac", "paramsign", "oauth2"},
				AppCodeMode: "header-query", Access: "authenticated", ClockSkew: 90 * time.Second,
				Scopes: []string{"orders.read", "orders.write"}, HMACAlgorithms: []string{"hmac-sha256", "hmac-sha512"},
				EnforceHeaders: []string{"date", "request-line", "digest"}, TimestampRequired: true,
				Route: authz.Route{API: "orders", Host: "api.example.com", PathPrefix: "/orders", Methods: []string{"GET", "POST"}}},
		},
	}
	st := store.New(e.srv.Client(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out apiJSON
			e.json(&out, append([]string{"api", "create"}, tc.args...)...)
			if want := toAPIJSON(tc.want); !reflect.DeepEqual(out, want) {
				t.Errorf("create answered\n%+v\nwant\n%+v", out, want)
			}
			got, err := st.GetAPI(context.Background(), tc.want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameAPI(got, tc.want) {
				t.Errorf("stored\n%+v\nwant\n%+v", got, tc.want)
			}
			var show apiJSON
			e.json(&show, "api", "show", tc.want.ID)
			if !reflect.DeepEqual(show, out) {
				t.Errorf("show answered\n%+v\nwant what create answered\n%+v", show, out)
			}
		})
	}

	var list struct {
		APIs []apiJSON `json:"apis"`
	}
	e.json(&list, "api", "list")
	var ids []string
	for _, a := range list.APIs {
		ids = append(ids, a.API)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"orders", "plain"}) {
		t.Errorf("api list ids = %v, want [orders plain]", ids)
	}

	if line := e.fail("api", "create", "--id", "plain", "--methods", "key"); !strings.Contains(line, `API "plain" already exists`) {
		t.Errorf("duplicate API: %q", line)
	}
}

// sameAPI compares APIs treating nil and empty lists alike.
func sameAPI(a, b authz.API) bool {
	return reflect.DeepEqual(toAPIJSON(a), toAPIJSON(b))
}

func TestAPIUpdateKeepsWhatIsNotGiven(t *testing.T) {
	e := newEnv(t)
	var out apiJSON
	e.json(&out, "api", "create", "--id", "a", "--methods", "key,hmac", "--host", "a.example.com",
		"--path-prefix", "/a", "--scopes", "s1", "--hmac-algorithms", "hmac-sha256")

	e.json(&out, "api", "update", "a", "--clock-skew", "2m", "--access", "authenticated", "--path-prefix", "/b")
	want := authz.API{ID: "a", Methods: []authz.Method{"key", "hmac"}, AppCodeMode: "header", Access: "authenticated",
		ClockSkew: 2 * time.Minute, Scopes: []string{"s1"}, HMACAlgorithms: []string{"hmac-sha256"}, ReplayProtection: true,
		Route: authz.Route{API: "a", Host: "a.example.com", PathPrefix: "/b"}}
	if !reflect.DeepEqual(out, toAPIJSON(want)) {
		t.Errorf("update answered\n%+v\nwant\n%+v", out, toAPIJSON(want))
	}
	got, err := store.New(e.srv.Client(t)).GetAPI(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if !sameAPI(got, want) {
		t.Errorf("stored\n%+v\nwant\n%+v", got, want)
	}

	// Clearing every route flag removes the route.
	var cleared apiJSON
	e.json(&cleared, "api", "update", "a", "--host", "", "--path-prefix", "")
	if cleared.Route != nil || cleared.API != "a" {
		t.Errorf("route after clearing = %+v, want none", cleared.Route)
	}

	if line := e.fail("api", "update", "nope", "--clock-skew", "1m"); line != `authzctl: API "nope" not found: see 'authzctl api list'` {
		t.Errorf("update of unknown API: %q", line)
	}
}

func TestAPIDelete(t *testing.T) {
	e := newEnv(t)
	var out apiJSON
	e.json(&out, "api", "create", "--id", "gone", "--methods", "key")
	var del apiDeletedJSON
	e.json(&del, "api", "delete", "gone")
	if del != (apiDeletedJSON{API: "gone", Deleted: true}) {
		t.Errorf("api delete answered %+v", del)
	}
	e.fail("api", "show", "gone")
	e.fail("api", "delete", "gone")
}

func TestAPIBadFlags(t *testing.T) {
	e := newEnv(t)
	tests := map[string][]string{
		"no methods":       {"--id", "x"},
		"no id":            {"--methods", "key"},
		"unknown method":   {"--id", "x", "--methods", "key,magic"},
		"unknown mode":     {"--id", "x", "--methods", "key", "--appcode-mode", "query"},
		"unknown access":   {"--id", "x", "--methods", "key", "--access", "anyone"},
		"unknown hmac alg": {"--id", "x", "--methods", "hmac", "--hmac-algorithms", "hmac-md5"},
		"bad duration":     {"--id", "x", "--methods", "key", "--clock-skew", "300"},
		"negative skew":    {"--id", "x", "--methods", "key", "--clock-skew", "-1s"},
		"relative prefix":  {"--id", "x", "--methods", "key", "--path-prefix", "orders"},
		"bad route method": {"--id", "x", "--methods", "key", "--route-methods", "GET,P0ST"},
		"bad header":       {"--id", "x", "--methods", "hmac", "--enforce-headers", "date,x(y)"},
		"bad id":           {"--id", "a:b", "--methods", "key"},
		"bad bool":         {"--id", "x", "--methods", "key", "--replay-protection=maybe"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			wantUsage(t, e.run(append([]string{"api", "create"}, args...)...))
		})
	}
	var list struct {
		APIs []apiJSON `json:"apis"`
	}
	e.json(&list, "api", "list")
	if len(list.APIs) != 0 {
		t.Errorf("a rejected create wrote %+v", list.APIs)
	}
}
