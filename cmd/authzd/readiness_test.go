package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/authz/extauthz"
)

// Health starts NOT_SERVING, follows Redis, and stays NOT_SERVING once
// shutdown began; /readyz says the same.
func TestReadiness(t *testing.T) {
	hs := health.NewServer()
	r := newReadiness(hs, slog.New(slog.DiscardHandler), false)
	srv := httptest.NewServer(newHTTPServer("", r, prometheus.NewRegistry()).Handler)
	defer srv.Close()

	expect := func(step string, want healthpb.HealthCheckResponse_ServingStatus, readyz int) {
		t.Helper()
		for _, svc := range []string{"", extauthz.ServiceName} {
			resp, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != want {
				t.Errorf("%s: health(%q) = %v, %v; want %v", step, svc, resp.GetStatus(), err, want)
			}
		}
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != readyz {
			t.Errorf("%s: /readyz = %d; want %d", step, resp.StatusCode, readyz)
		}
		resp, err = http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: /healthz = %d; want 200 while the process lives", step, resp.StatusCode)
		}
	}
	expect("start", healthpb.HealthCheckResponse_NOT_SERVING, 503)
	r.set(nil)
	expect("Redis up", healthpb.HealthCheckResponse_SERVING, 200)
	r.set(errors.New("connection refused"))
	expect("Redis down", healthpb.HealthCheckResponse_NOT_SERVING, 503)
	r.set(nil)
	expect("Redis back", healthpb.HealthCheckResponse_SERVING, 200)
	r.stop()
	expect("shutdown", healthpb.HealthCheckResponse_NOT_SERVING, 503)
	r.set(nil)
	expect("ping after shutdown", healthpb.HealthCheckResponse_NOT_SERVING, 503)
}

// With the cache on, a lost invalidation subscription turns health
// NOT_SERVING at once, even while a ping is still waiting on Redis, and
// no ping runs while the subscription is down: the cheap signal first.
// Health turns SERVING again only when the subscription is back and a
// ping has confirmed Redis.
func TestReadinessSubscriptionFirst(t *testing.T) {
	hs := health.NewServer()
	var logs lockedLog
	r := newReadiness(hs, slog.New(slog.NewJSONHandler(&logs, nil)), true)
	ctx := context.Background()
	status := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hs.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	want := func(step string, s healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		if got := status(); got != s {
			t.Fatalf("%s: health %v, want %v", step, got, s)
		}
	}
	ok := func(context.Context) error { return nil }

	r.probe(ctx, ok)
	want("Redis answers, not subscribed yet", healthpb.HealthCheckResponse_NOT_SERVING)
	r.subscriptionChanged(true)
	r.probe(ctx, ok)
	want("subscribed and Redis answers", healthpb.HealthCheckResponse_SERVING)

	// A ping hangs (Redis stopped answering); meanwhile the subscriber's
	// connection breaks.
	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		r.probe(ctx, func(context.Context) error { close(entered); <-release; return nil })
	}()
	<-entered
	logs.reset()
	r.subscriptionChanged(false)
	want("subscription lost while the ping hangs", healthpb.HealthCheckResponse_NOT_SERVING)
	if l := logs.String(); !strings.Contains(l, `"reason":"subscription"`) {
		t.Errorf("the NOT_SERVING log should name the subscription as the reason:\n%s", l)
	}
	close(release) // the old ping succeeds late: it must not flip health back
	<-done
	want("late ping success", healthpb.HealthCheckResponse_NOT_SERVING)

	r.probe(ctx, func(context.Context) error {
		t.Errorf("pinged Redis although the subscription already says it is gone")
		return nil
	})
	want("probe while unsubscribed", healthpb.HealthCheckResponse_NOT_SERVING)

	r.subscriptionChanged(true)
	r.probe(ctx, func(context.Context) error { return errors.New("connection refused") })
	want("subscribed again, ping fails", healthpb.HealthCheckResponse_NOT_SERVING)
	r.probe(ctx, ok)
	want("subscribed again, ping answers", healthpb.HealthCheckResponse_SERVING)
}

// The first ping runs even before the subscription is up, so that a wrong
// password is logged at start-up rather than only "not subscribed".
func TestReadinessFirstPingExplains(t *testing.T) {
	var logs lockedLog
	r := newReadiness(health.NewServer(), slog.New(slog.NewJSONHandler(&logs, nil)), true)
	var pings int
	r.probe(context.Background(), func(context.Context) error { pings++; return errors.New("WRONGPASS invalid username-password pair") })
	if pings != 1 || !strings.Contains(logs.String(), "WRONGPASS") {
		t.Fatalf("pings %d, logs:\n%s", pings, logs.String())
	}
}

// lockedLog collects log output written from several goroutines.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}
