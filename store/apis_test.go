package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestCreateGetAPI(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	full := authz.API{
		ID:                "orders",
		Methods:           []authz.Method{authz.MethodHMAC, authz.MethodKey},
		AppCodeMode:       authz.AppCodeHeaderQuery,
		Access:            authz.AccessAuthenticated,
		ClockSkew:         90 * time.Second,
		Scopes:            []string{"orders:read"},
		HMACAlgorithms:    []string{"hmac-sha256"},
		EnforceHeaders:    []string{"date", "request-line"},
		ReplayProtection:  true,
		TimestampRequired: true,
		Route:             authz.Route{Host: "api.example.com", PathPrefix: "/orders", Methods: []string{"GET", "POST"}},
	}
	if err := s.CreateAPI(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPI(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := full
	want.Route.API = "orders"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetAPI =\n%+v\nwant\n%+v", got, want)
	}

	// Empty fields take the defaults.
	if err := s.CreateAPI(ctx, authz.API{ID: "min", Methods: []authz.Method{authz.MethodAppCode}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAPI(ctx, "min")
	if got.AppCodeMode != authz.AppCodeHeader || got.Access != authz.AccessAuthorized || got.ClockSkew != authz.DefaultClockSkew {
		t.Errorf("defaults = %+v", got)
	}
	if h, _ := rdb.HGetAll(ctx, "appauthz:api:{orders}").Result(); h["clock_skew"] != "90" || h["replay"] != "on" || h["methods"] != "hmac,key" {
		t.Errorf("api hash = %v", h)
	}
	// Only an API with a host or path prefix joins the route table.
	res, err := s.Lookup(ctx, authz.LookupQuery{})
	if err != nil {
		t.Fatal(err)
	}
	wantRoutes := []authz.Route{{API: "orders", Host: "api.example.com", PathPrefix: "/orders", Methods: []string{"GET", "POST"}}}
	if !reflect.DeepEqual(res.Routes, wantRoutes) {
		t.Errorf("routes = %+v, want %+v", res.Routes, wantRoutes)
	}
	list, err := s.ListAPIs(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "min" || list[1].ID != "orders" {
		t.Errorf("ListAPIs = %+v, %v", list, err)
	}
}

func TestCreateAPIErrors(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	key := []authz.Method{authz.MethodKey}
	if err := s.CreateAPI(ctx, authz.API{ID: "taken", Methods: key, Route: authz.Route{Host: "a.example", PathPrefix: "/x"}}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		api     authz.API
		is      error
		message string
	}{
		"taken":         {authz.API{ID: "taken", Methods: key}, ErrExists, "authzctl api update taken"},
		"bad id":        {authz.API{ID: "a/b", Methods: key}, nil, "invalid api id"},
		"no methods":    {authz.API{ID: "a"}, nil, "--methods"},
		"bad method":    {authz.API{ID: "a", Methods: []authz.Method{"basic"}}, nil, `unknown auth method "basic"`},
		"bad mode":      {authz.API{ID: "a", Methods: key, AppCodeMode: "query"}, nil, "appcode mode"},
		"bad access":    {authz.API{ID: "a", Methods: key, Access: "public"}, nil, "access condition"},
		"negative skew": {authz.API{ID: "a", Methods: key, ClockSkew: -time.Second}, nil, "clock skew"},
		"huge skew":     {authz.API{ID: "a", Methods: key, ClockSkew: 48 * time.Hour}, nil, "clock skew"},
		"bad algorithm": {authz.API{ID: "a", Methods: key, HMACAlgorithms: []string{"hmac-md5"}}, nil, "hmac-md5"},
		"bad prefix":    {authz.API{ID: "a", Methods: key, Route: authz.Route{PathPrefix: "orders"}}, nil, "must start with /"},
		"bad host":      {authz.API{ID: "a", Methods: key, Route: authz.Route{Host: "a b"}}, nil, "route host"},
		"same route":    {authz.API{ID: "a", Methods: key, Route: authz.Route{Host: "a.example", PathPrefix: "/x"}}, ErrExists, `for api "taken"`},
		"bad header":    {authz.API{ID: "a", Methods: key, EnforceHeaders: []string{"da,te"}}, nil, "enforced header"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := s.CreateAPI(ctx, tc.api)
			if err == nil {
				t.Fatal("CreateAPI succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not mention %q", err, tc.message)
			}
		})
	}
	// Same host and prefix on disjoint methods is a distinct route.
	err := s.CreateAPI(ctx, authz.API{ID: "b", Methods: key, Route: authz.Route{Host: "c.example", PathPrefix: "/x", Methods: []string{"GET"}}})
	if err == nil {
		err = s.CreateAPI(ctx, authz.API{ID: "c", Methods: key, Route: authz.Route{Host: "c.example", PathPrefix: "/x", Methods: []string{"post"}}})
	}
	if err != nil {
		t.Errorf("routes on disjoint methods: %v", err)
	}
}

func TestUpdateDeleteAPI(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	routed := authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Scopes: []string{"a"}, Route: authz.Route{PathPrefix: "/orders"}}
	if err := s.CreateAPI(ctx, routed); err != nil {
		t.Fatal(err)
	}
	created, _ := rdb.HGet(ctx, "appauthz:api:{orders}", "created_at").Result()

	// Full replace: fields not given are gone, the route with them.
	s.now = func() time.Time { return testNow.Add(time.Hour) }
	if err := s.UpdateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetAPI(ctx, "orders")
	if len(got.Scopes) != 0 || got.Route.PathPrefix != "" || !got.Allows(authz.MethodAppCode) || got.Allows(authz.MethodKey) {
		t.Errorf("after update = %+v", got)
	}
	if after, _ := rdb.HGet(ctx, "appauthz:api:{orders}", "created_at").Result(); after != created {
		t.Errorf("created_at changed on update: %s → %s", created, after)
	}
	if n, _ := rdb.HLen(ctx, "appauthz:routes").Result(); n != 0 {
		t.Errorf("route kept after an update without one")
	}
	if err := s.UpdateAPI(ctx, authz.API{ID: "ghost", Methods: []authz.Method{authz.MethodKey}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateAPI(ghost) = %v, want ErrNotFound", err)
	}

	// Delete removes the API, its route and its grants.
	if err := s.UpdateAPI(ctx, routed); err != nil {
		t.Fatal(err)
	}
	mustCreateApp(t, s, "app1")
	for _, stage := range []string{"", "TEST"} {
		if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: stage}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAPI(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAPI(ctx, "orders"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetAPI after delete = %v", err)
	}
	keys, _ := rdb.Keys(ctx, "appauthz:grant:*").Result()
	if n, _ := rdb.HLen(ctx, "appauthz:routes").Result(); n != 0 || len(keys) != 0 {
		t.Errorf("after delete: %d routes, grant keys %v", n, keys)
	}
	if n, _ := rdb.SCard(ctx, "appauthz:app:{app1}:grants").Result(); n != 0 {
		t.Errorf("app still lists %d grants on the deleted API", n)
	}
	if err := s.DeleteAPI(ctx, "orders"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteAPI = %v, want ErrNotFound", err)
	}
}
