package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newHTTPServer serves the operational endpoints:
//   - /healthz: the process is alive (200);
//   - /readyz: 200 only when Redis answers, the cache (when on) is
//     subscribed to invalidations, and no shutdown has begun; its body
//     also reports secrets that did not open with the master keys
//     (without changing the status: see decryptWatch);
//   - /metrics: Prometheus, from reg;
//   - what each of mounts registers (the OAuth2 token endpoint).
func newHTTPServer(addr string, ready *readiness, reg *prometheus.Registry, mounts ...interface{ Register(*http.ServeMux) }) *http.Server {
	mux := http.NewServeMux()
	for _, m := range mounts {
		m.Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		body := "ready\n"
		switch {
		case ready.Stopping():
			w.WriteHeader(http.StatusServiceUnavailable)
			body = "shutting down\n"
		case !ready.Ready():
			w.WriteHeader(http.StatusServiceUnavailable)
			body = "not ready: Redis does not answer, or the cache is not subscribed to invalidations\n"
		}
		if p := ready.decrypt.problem(); p != "" {
			body += p + "\n"
		}
		_, _ = w.Write([]byte(body))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
