package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/appauthz/appauthz/authz"
)

func TestRateLimitFailOpenFlag(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want bool
	}{
		"default closed": {nil, nil, false},
		"flag":           {[]string{"--ratelimit-fail-open"}, nil, true},
		"env":            {nil, map[string]string{"AUTHZ_RATELIMIT_FAIL_OPEN": "true"}, true},
		"flag wins":      {[]string{"--ratelimit-fail-open=false"}, map[string]string{"AUTHZ_RATELIMIT_FAIL_OPEN": "true"}, false},
	} {
		c, err := loadConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err != nil || c.RateLimitFailOpen != tc.want {
			t.Errorf("%s: RateLimitFailOpen = %v, %v; want %v", name, c.RateLimitFailOpen, err, tc.want)
		}
	}
	if _, err := loadConfig(nil, func(k string) string {
		return map[string]string{"AUTHZ_RATELIMIT_FAIL_OPEN": "maybe"}[k]
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "AUTHZ_RATELIMIT_FAIL_OPEN") {
		t.Errorf("bad env value: %v", err)
	}
}

// Each request let through unlimited is logged at WARN and counted.
func TestBypassReporter(t *testing.T) {
	reg := prometheus.NewRegistry()
	if opts, err := rateLimitOptions(Config{}, slog.New(slog.DiscardHandler), reg); err != nil || len(opts) != 0 {
		t.Fatalf("without the flag: %d options, %v", len(opts), err)
	}
	if opts, err := rateLimitOptions(Config{RateLimitFailOpen: true}, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err != nil || len(opts) != 1 {
		t.Fatalf("with the flag: %d options, %v", len(opts), err)
	}
	var logs bytes.Buffer
	report, err := newBypassReporter(slog.New(slog.NewJSONHandler(&logs, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	report(context.Background(), authz.Identity{API: "orders", AppID: "shop"}, errors.New("i/o timeout"))
	want := `
# HELP appauthz_ratelimit_bypassed_total Authenticated requests let through without their traffic limits because Redis failed (--ratelimit-fail-open), by API.
# TYPE appauthz_ratelimit_bypassed_total counter
appauthz_ratelimit_bypassed_total{api="orders"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "appauthz_ratelimit_bypassed_total"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"traffic limits not enforced`) || !strings.Contains(logs.String(), `"app_id":"shop"`) {
		t.Errorf("logs: %s", logs.String())
	}
}
