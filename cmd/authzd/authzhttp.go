package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/httpauthz"
)

// validateAuthzHTTP checks --authz-http-addr when it is set: a valid
// address on a port of its own.
func (c *Config) validateAuthzHTTP(gPort, hPort int) []error {
	if c.AuthzHTTPAddr == "" {
		return nil
	}
	port, err := checkAddr("--authz-http-addr", c.AuthzHTTPAddr)
	if err != nil {
		return []error{err}
	}
	if port != 0 && (port == gPort || port == hPort) {
		return []error{fmt.Errorf("--authz-http-addr uses port %d, as --grpc-addr or --http-addr does: give it a port of its own", port)}
	}
	return nil
}

// authzHTTPServer is the HTTP authorization listener: the same decision
// core as the gRPC listener, behind the HTTP protocol of Envoy's
// http_service and forward-auth proxies. X-Forwarded-* and X-Original-*
// are believed only from --trusted-proxies.
func authzHTTPServer(cfg Config, d httpauthz.Decider, log *slog.Logger, reg prometheus.Registerer) (*http.Server, error) {
	if cfg.RedisTimeout > 0 {
		d = budgeted{d: d, budget: cfg.RedisTimeout}
	}
	h, err := httpauthz.New(d, httpauthz.WithTrustedProxies(httpauthz.Trusted(cfg.OAuth2.trusted)), httpauthz.WithLogger(log), httpauthz.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	return &http.Server{
		Addr:              cfg.AuthzHTTPAddr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Proxies keep connections open; the forwarded description of a
		// request adds a few headers to the original's.
		MaxHeaderBytes: 1 << 20,
	}, nil
}

// budgeted gives each HTTP-mode Check the one budget a gRPC Check gets
// (--redis-timeout): forward-auth proxies send no deadline of their own,
// and without it a hung Redis would hold each Check for every round trip's
// own bound in turn.
type budgeted struct {
	d      httpauthz.Decider
	budget time.Duration
}

func (b budgeted) Check(ctx context.Context, r *authz.Request) authz.Decision {
	ctx, cancel := context.WithTimeout(ctx, b.budget)
	defer cancel()
	return b.d.Check(ctx, r)
}

// listenAuthzHTTP opens --authz-http-addr, or returns nil when it is off.
func listenAuthzHTTP(cfg Config) (net.Listener, error) {
	if cfg.AuthzHTTPAddr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.AuthzHTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --authz-http-addr %s: %w (is another authzd running?)", cfg.AuthzHTTPAddr, err)
	}
	return l, nil
}

// shutdownAuthzHTTP lets in-flight authorization requests finish, bounded
// by --shutdown-timeout, like the gRPC listener's GracefulStop.
func shutdownAuthzHTTP(cfg Config, srv *http.Server, log *slog.Logger) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("HTTP authorization listener did not close cleanly", slog.String("error", err.Error()))
		_ = srv.Close()
	}
}
