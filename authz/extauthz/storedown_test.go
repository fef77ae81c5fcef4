package extauthz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// storeDownDecider answers every Check as the engine does when the store
// fails with err.
func storeDownDecider(err error) Decider {
	return deciderFunc(func(context.Context, *authz.Request) authz.Decision {
		return authz.Decision{Reason: authz.ReasonStoreUnavailable, Message: "the credential store is unavailable; retry later",
			Identity: authz.Identity{API: "orders"}, Err: err}
	})
}

// checkLogLine is the one decision line of a Check.
func checkLogLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "check" {
			return m
		}
	}
	t.Fatalf("no check line in the log:\n%s", logs)
	return nil
}

// Every StoreUnavailable deny says why in its log line, counts its cause,
// and tells the hook; a credential in the store's error text never leaks.
func TestStoreUnavailableSaysWhy(t *testing.T) {
	refused := fmt.Errorf("store: lookup: %w", &net.OpError{Op: "dial", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6379}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	decodeErr := errors.New(`store: lookup: key "SECRET-APP-KEY": field expires_at is not unix seconds`)
	errDecrypt := errors.New(`the sealed secret of app_key "SECRET-APP-KEY" does not open`)
	describeDecrypt := func(err error) authz.StoreFailure {
		if errors.Is(err, errDecrypt) {
			return authz.StoreFailure{Cause: authz.CauseDecrypt, Detail: "a secret does not open with the master key"}
		}
		return authz.ClassifyStoreError(err)
	}
	tests := map[string]struct {
		err        error
		describe   func(error) authz.StoreFailure
		wantCause  authz.StoreCause
		wantDetail string // "" means no store_error field
	}{
		"connection": {err: refused, wantCause: authz.CauseConnection, wantDetail: "connection refused"},
		"timeout":    {err: fmt.Errorf("store: principal: %w", context.DeadlineExceeded), wantCause: authz.CauseTimeout, wantDetail: "budget"},
		"decrypt":    {err: errDecrypt, describe: describeDecrypt, wantCause: authz.CauseDecrypt, wantDetail: "master key"},
		"other":      {err: decodeErr, wantCause: authz.CauseOther},
		"no error":   {err: nil, wantCause: authz.CauseOther},
		"unknown cause from the classifier": {err: refused, wantCause: authz.CauseOther,
			describe: func(error) authz.StoreFailure { return authz.StoreFailure{Cause: "made-up"} }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			var logs lockedbuf.Buffer
			var hooked []authz.StoreFailure
			opts := []Option{WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithRegisterer(reg),
				WithStoreDownHook(func(f authz.StoreFailure) { hooked = append(hooked, f) })}
			if tc.describe != nil {
				opts = append(opts, WithStoreErrors(tc.describe))
			}
			srv, err := NewServer(storeDownDecider(tc.err), opts...)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Check(context.Background(), mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/orders",
				Header: http.Header{"X-App-Key": {"SECRET-APP-KEY"}}}))
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_ServiceUnavailable {
				t.Fatalf("resp = %v; want a 503 deny", resp)
			}
			line := checkLogLine(t, logs.String())
			if line["reason"] != "StoreUnavailable" || line["store_cause"] != string(tc.wantCause) {
				t.Errorf("log line %v; want reason StoreUnavailable, store_cause %s", line, tc.wantCause)
			}
			if detail, _ := line["store_error"].(string); tc.wantDetail == "" && detail != "" || !strings.Contains(detail, tc.wantDetail) {
				t.Errorf("store_error = %q; want %q", detail, tc.wantDetail)
			}
			if strings.Contains(logs.String(), "SECRET-APP-KEY") {
				t.Errorf("the log names the app key:\n%s", logs.String())
			}
			for _, c := range authz.StoreCauses() {
				want := 0.0
				if c == tc.wantCause {
					want = 1
				}
				if got := testutil.ToFloat64(srv.metrics.storeDown.WithLabelValues(string(c))); got != want {
					t.Errorf("appauthz_store_unavailable_total{cause=%q} = %v; want %v", c, got, want)
				}
			}
			if n, err := testutil.GatherAndCount(reg, "appauthz_store_unavailable_total"); err != nil || n != len(authz.StoreCauses()) {
				t.Errorf("appauthz_store_unavailable_total has %d series (err %v); want one per cause, from the start", n, err)
			}
			if len(hooked) != 1 || hooked[0].Cause != tc.wantCause {
				t.Errorf("hook saw %v; want one %s", hooked, tc.wantCause)
			}
		})
	}
}

// A deny that is not about the store carries no store fields and counts
// nothing.
func TestOtherDeniesHaveNoStoreCause(t *testing.T) {
	var logs lockedbuf.Buffer
	srv, err := NewServer(deciderFunc(func(context.Context, *authz.Request) authz.Decision {
		return authz.Decision{Reason: authz.ReasonUnknownAppKey}
	}), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithStoreDownHook(func(authz.StoreFailure) { t.Error("hook called") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Check(context.Background(), mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/"})); err != nil {
		t.Fatal(err)
	}
	if line := checkLogLine(t, logs.String()); line["store_cause"] != nil {
		t.Errorf("log line %v has a store_cause", line)
	}
	for _, c := range authz.StoreCauses() {
		if got := testutil.ToFloat64(srv.metrics.storeDown.WithLabelValues(string(c))); got != 0 {
			t.Errorf("cause %s counted %v", c, got)
		}
	}
}

// One budget per Check: the core runs under the smaller of --redis-timeout
// and the proxy's deadline less a margin, never longer than either.
func TestCheckBudget(t *testing.T) {
	tests := map[string]struct {
		budget, proxy time.Duration // 0: none
		// The core's deadline must fall in (now+lo, now+hi]; hi == 0: no deadline.
		lo, hi time.Duration
	}{
		"budget only":            {budget: 300 * time.Millisecond, lo: 0, hi: 300 * time.Millisecond},
		"proxy deadline shorter": {budget: time.Hour, proxy: 200 * time.Millisecond, lo: 0, hi: 200*time.Millisecond - minDeadlineMargin},
		"budget shorter":         {budget: 100 * time.Millisecond, proxy: time.Hour, lo: 0, hi: 100 * time.Millisecond},
		"proxy deadline only":    {proxy: 10 * time.Second, lo: 5 * time.Second, hi: 10*time.Second - maxDeadlineMargin},
		"neither":                {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var dl time.Time
			var has bool
			srv, err := NewServer(deciderFunc(func(ctx context.Context, _ *authz.Request) authz.Decision {
				dl, has = ctx.Deadline()
				return authz.Decision{Reason: authz.ReasonUnknownAppKey}
			}), WithLogger(slog.New(slog.DiscardHandler)), WithCheckBudget(tc.budget))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.proxy > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.proxy)
				defer cancel()
			}
			start := time.Now()
			if _, err := srv.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/"})); err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			if tc.hi == 0 {
				if has {
					t.Fatalf("the core got a deadline %v; want none", dl)
				}
				return
			}
			if !has {
				t.Fatal("the core ran without a deadline")
			}
			// Measured from both ends of the Check, so no timing matters.
			if dl.Sub(start) <= tc.lo || dl.Sub(end) > tc.hi {
				t.Errorf("the core's deadline is %v after the Check began; want in (%v, %v]", dl.Sub(start), tc.lo, tc.hi)
			}
		})
	}
}

// hungStore is a Redis that never answers: every call waits for its
// context.
type hungStore struct{}

func (hungStore) Lookup(ctx context.Context, _ authz.LookupQuery) (authz.LookupResult, error) {
	<-ctx.Done()
	return authz.LookupResult{}, fmt.Errorf("store: lookup: %w", ctx.Err())
}

func (hungStore) Principal(ctx context.Context, _ authz.PrincipalQuery) (authz.PrincipalResult, error) {
	<-ctx.Done()
	return authz.PrincipalResult{}, fmt.Errorf("store: principal: %w", ctx.Err())
}

func (hungStore) Admit(ctx context.Context, _ authz.AdmitQuery) (authz.AdmitResult, error) {
	<-ctx.Done()
	return authz.AdmitResult{}, fmt.Errorf("store: admit: %w", ctx.Err())
}

// With the real engine over a store that never answers, a Check without
// any deadline of its own ends when its budget does: StoreUnavailable,
// cause timeout. Without the budget it would wait forever.
func TestCheckBudgetEndsAHungCheck(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, err := NewServer(authz.NewEngine(hungStore{}), WithLogger(slog.New(slog.DiscardHandler)), WithRegisterer(reg),
		WithCheckBudget(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *authv3.CheckResponse, 1)
	go func() {
		resp, _ := srv.Check(context.Background(), mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/",
			Header: http.Header{"X-App-Key": {"k"}}}))
		done <- resp
	}()
	var resp *authv3.CheckResponse
	select {
	case resp = <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("the Check did not end: no budget bounds it")
	}
	if resp.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_ServiceUnavailable {
		t.Fatalf("resp = %v; want a 503 deny", resp)
	}
	if got := testutil.ToFloat64(srv.metrics.storeDown.WithLabelValues(string(authz.CauseTimeout))); got != 1 {
		t.Errorf("timeouts counted %v; want 1", got)
	}
}
