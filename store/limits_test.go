package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestAPILimitsRoundTrip(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	l := authz.Limits{Rate: authz.RateLimit{Count: 100, Period: time.Second, Burst: 200}, Quota: 10000}
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Limits: l}); err != nil {
		t.Fatal(err)
	}
	h, _ := rdb.HGetAll(ctx, "appauthz:api:{orders}").Result()
	if h["rate"] != "100/s" || h["burst"] != "200" || h["quota"] != "10000/day" {
		t.Errorf("api hash limit fields = %q %q %q", h["rate"], h["burst"], h["quota"])
	}
	got, err := s.GetAPI(ctx, "orders")
	if err != nil || got.Limits != l {
		t.Fatalf("GetAPI limits = %+v, %v; want %+v", got.Limits, err, l)
	}
	got.Limits = authz.Limits{}
	if err := s.UpdateAPI(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetAPI(ctx, "orders"); !got.Limits.IsZero() {
		t.Errorf("limits after clearing = %+v", got.Limits)
	}
	for field, v := range map[string]string{"rate": "5/week", "burst": "x", "quota": "5/h"} {
		rdb.HSet(ctx, "appauthz:api:{orders}", field, v)
		if _, err := s.GetAPI(ctx, "orders"); err == nil {
			t.Errorf("%s=%q decoded without error", field, v)
		}
		rdb.HSet(ctx, "appauthz:api:{orders}", field, "")
	}
}

func TestAppLimitsAdmin(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "a1")
	mustCreateApp(t, s, "a2")
	for _, id := range []string{"x", "y"} {
		if err := s.CreateAPI(ctx, authz.API{ID: id, Methods: []authz.Method{authz.MethodKey}}); err != nil {
			t.Fatal(err)
		}
	}
	ten := authz.Limits{Rate: authz.RateLimit{Count: 10, Period: time.Second}}
	for _, c := range []struct{ api, app string }{{"x", "a1"}, {"x", "a2"}, {"y", "a1"}} {
		if err := s.SetAppLimits(ctx, c.api, c.app, ten); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAppLimits(ctx, "x", "a2", authz.Limits{}); err != nil { // unlimited on x
		t.Fatal(err)
	}
	if err := s.SetAppLimits(ctx, "nope", "a1", ten); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown api: %v", err)
	}
	if err := s.SetAppLimits(ctx, "x", "nope", ten); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown app: %v", err)
	}
	if err := s.SetAppLimits(ctx, "x", "a1", authz.Limits{Quota: -1}); err == nil {
		t.Error("negative quota accepted")
	}

	p, err := s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"a1", "a2", "a3"}, LimitAPI: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Limits) != 2 || p.Limits["a1"] == nil || *p.Limits["a1"] != ten || p.Limits["a2"] == nil || !p.Limits["a2"].IsZero() {
		t.Errorf("Principal limits = %v", p.Limits)
	}
	list, err := s.ListAppLimits(ctx, "x")
	if err != nil || len(list) != 2 || list[0].AppID != "a1" || list[1].AppID != "a2" {
		t.Errorf("ListAppLimits = %+v, %v", list, err)
	}
	if _, err := s.ListAppLimits(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListAppLimits(nope) = %v", err)
	}
	if l, ok, err := s.GetAppLimits(ctx, "y", "a1"); err != nil || !ok || l != ten {
		t.Errorf("GetAppLimits = %+v %v %v", l, ok, err)
	}

	if err := s.DeleteAppLimits(ctx, "x", "a2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAppLimits(ctx, "x", "a2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
	if _, ok, _ := s.GetAppLimits(ctx, "x", "a2"); ok {
		t.Error("limits still there after delete")
	}

	// Deleting the app drops its limits everywhere; deleting the API drops
	// every app's limits on it.
	if err := s.DeleteApp(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"x", "y"} {
		if _, ok, _ := s.GetAppLimits(ctx, api, "a1"); ok {
			t.Errorf("limits of deleted app a1 remain on %s", api)
		}
	}
	if n, _ := rdb.Exists(ctx, "appauthz:app:{a1}:limits").Result(); n != 0 {
		t.Error("app:{a1}:limits remains")
	}
	if err := s.SetAppLimits(ctx, "y", "a2", ten); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPI(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, "appauthz:limits:{y}").Result(); n != 0 {
		t.Error("limits:{y} remains")
	}
	if m, _ := rdb.SMembers(ctx, "appauthz:app:{a2}:limits").Result(); len(m) != 0 {
		t.Errorf("app:{a2}:limits = %v after API y was deleted", m)
	}
}
