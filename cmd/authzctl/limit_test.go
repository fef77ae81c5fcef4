package main

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

func TestAPILimitFlags(t *testing.T) {
	e := newEnv(t)
	var api apiJSON
	e.json(&api, "api", "create", "--id", "orders", "--methods", "key", "--rate", "100/s", "--burst", "200", "--quota", "10000/day")
	if api.Limits != (limitsJSON{Rate: "100/s", Burst: 200, Quota: "10000/day"}) {
		t.Errorf("api create limits = %+v", api.Limits)
	}
	got, err := store.New(e.srv.Client(t)).GetAPI(context.Background(), "orders")
	want := authz.Limits{Rate: authz.RateLimit{Count: 100, Period: time.Second, Burst: 200}, Quota: 10000}
	if err != nil || got.Limits != want {
		t.Fatalf("stored limits = %+v, %v; want %+v", got.Limits, err, want)
	}

	steps := []struct {
		args []string
		want limitsJSON
	}{
		{[]string{"--rate", "6000/m"}, limitsJSON{Rate: "6000/m", Burst: 200, Quota: "10000/day"}}, // the burst is kept
		{[]string{"--burst", "none"}, limitsJSON{Rate: "6000/m", Burst: 6000, Quota: "10000/day"}},
		{[]string{"--quota", "none"}, limitsJSON{Rate: "6000/m", Burst: 6000}},
		{[]string{"--rate", "none", "--scopes", "a"}, limitsJSON{}},
	}
	for _, st := range steps {
		api = apiJSON{}
		e.json(&api, append([]string{"api", "update", "orders"}, st.args...)...)
		if api.Limits != st.want {
			t.Errorf("api update %v: limits %+v; want %+v", st.args, api.Limits, st.want)
		}
	}

	for _, args := range [][]string{
		{"api", "update", "orders", "--burst", "5"}, // no rate to burst
		{"api", "update", "orders", "--rate", "5/week"},
		{"api", "update", "orders", "--quota", "5/h"},
		{"api", "update", "orders", "--rate", "5/s", "--burst", "0"},
		{"api", "create", "--id", "x", "--methods", "key", "--rate", "abc"},
	} {
		if r := e.run(args...); r.code != exitUsage {
			t.Errorf("%v: exit %d (%s); want %d", args, r.code, r.stderr, exitUsage)
		}
	}
}

func TestLimitCommands(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "vip", "--id", "vip")
	e.json(&a, "app", "create", "--name", "plain", "--id", "plain")
	var api apiJSON
	e.json(&api, "api", "create", "--id", "orders", "--methods", "key", "--rate", "100/s", "--quota", "10000/day")

	var set appLimitJSON
	e.json(&set, "limit", "set", "--api", "orders", "--app", "vip", "--rate", "1000/s", "--burst", "50")
	if set != (appLimitJSON{API: "orders", AppID: "vip", Source: "app", limitsJSON: limitsJSON{Rate: "1000/s", Burst: 50}}) {
		t.Errorf("limit set = %+v", set)
	}
	for app, want := range map[string]appLimitJSON{
		"vip":   {API: "orders", AppID: "vip", Source: "app", limitsJSON: limitsJSON{Rate: "1000/s", Burst: 50}},
		"plain": {API: "orders", AppID: "plain", Source: "api", limitsJSON: limitsJSON{Rate: "100/s", Burst: 100, Quota: "10000/day"}},
	} {
		var got appLimitJSON
		e.json(&got, "limit", "show", "--api", "orders", "--app", app)
		if got != want {
			t.Errorf("limit show %s = %+v; want %+v", app, got, want)
		}
	}
	var list limitListJSON
	e.json(&list, "limit", "list", "--api", "orders")
	if list.API != "orders" || list.APILimits.Rate != "100/s" || len(list.Apps) != 1 || list.Apps[0].AppID != "vip" || list.Apps[0].Rate != "1000/s" {
		t.Errorf("limit list = %+v", list)
	}
	api = apiJSON{}
	e.json(&api, "api", "show", "orders")
	if api.Limits.Rate != "100/s" || len(api.AppLimits) != 1 || api.AppLimits[0].AppID != "vip" {
		t.Errorf("api show limits = %+v, app limits %+v", api.Limits, api.AppLimits)
	}
	if rows := e.table("api", "show", "orders"); !hasRow(rows, "RATE", "100/s") || !hasRow(rows, "LIMITS OF vip", "rate 1000/s, burst 50, quota none") {
		t.Errorf("api show table lacks the limits: %v", rows)
	}

	var del limitDeletedJSON
	e.json(&del, "limit", "delete", "--api", "orders", "--app", "vip")
	if del != (limitDeletedJSON{API: "orders", AppID: "vip", Deleted: true}) {
		t.Errorf("limit delete = %+v", del)
	}
	for args, want := range map[[2]string]string{
		{"nope", "vip"}:  `authzctl: limit set: API "nope" not found: see 'authzctl api list'`,
		{"orders", "no"}: `authzctl: limit set: app "no" not found: see 'authzctl app list'`,
	} {
		if line := e.fail("limit", "set", "--api", args[0], "--app", args[1], "--rate", "1/s"); line != want {
			t.Errorf("limit set %v:\ngot  %q\nwant %q", args, line, want)
		}
	}
	if line := e.fail("limit", "delete", "--api", "orders", "--app", "vip"); line == "" {
		t.Error("second delete succeeded")
	}
	for _, args := range [][]string{
		{"limit", "set", "--api", "orders", "--app", "vip"}, // nothing to set
		{"limit", "set", "--app", "vip", "--rate", "1/s"},
		{"limit", "set", "--api", "orders", "--app", "vip", "--quota", "1/week"},
		{"limit", "show", "--api", "orders"},
		{"limit", "list"},
	} {
		if r := e.run(args...); r.code != exitUsage {
			t.Errorf("%v: exit %d (%s); want %d", args, r.code, r.stderr, exitUsage)
		}
	}
}

func hasRow(rows [][]string, cells ...string) bool {
	for _, r := range rows {
		if len(r) == len(cells) {
			match := true
			for i := range cells {
				match = match && r[i] == cells[i]
			}
			if match {
				return true
			}
		}
	}
	return false
}
