package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	r := newReadiness(hs, slog.New(slog.DiscardHandler))
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
