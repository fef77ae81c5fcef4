package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/health"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/oauth2"
	"github.com/appauthz/appauthz/internal/buildinfo"
	"github.com/appauthz/appauthz/store"
)

// run is authzd from configuration to clean exit. It returns when ctx ends
// (SIGTERM/SIGINT) and shutdown is complete, or when a listener fails.
func run(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	log.Info("authzd starting", slog.Any("config", cfg))

	redisURL, redisOpts := cfg.RedisURL, cfg.TLS.redisOptions()
	var dev *miniredis.Miniredis
	if cfg.Dev {
		m, url, err := startDevRedis(log)
		if err != nil {
			return err
		}
		dev, redisURL, redisOpts = m, url, nil
		defer dev.Close()
	}
	rdb, err := store.OpenURL(redisURL, redisOpts...)
	if err != nil {
		return fmt.Errorf("--redis-url: %w", err)
	}
	defer rdb.Close()
	keyring, devKeyFile, dropDevKey, err := cfg.Secrets.open(cfg.Dev, log)
	if err != nil {
		return err
	}
	defer dropDevKey()
	st := store.New(rdb, store.WithTimeout(cfg.RedisTimeout), store.WithKeyring(keyring))
	if err := checkFormat(ctx, st, log); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Read().Collector())
	limitOpts, err := rateLimitOptions(cfg, log, reg)
	if err != nil {
		return err
	}
	redisMetrics, err := store.NewRedisMetrics(reg)
	if err != nil {
		return err
	}
	rdb.AddHook(redisMetrics)
	hs := health.NewServer()
	ready := newReadiness(hs, log, cfg.Cache.Enabled)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	decide, _, err := openCache(watchCtx, cfg.Cache, st, log, reg, ready.subscriptionChanged)
	if err != nil {
		return err
	}
	engine := authz.NewEngine(decide, limitOpts...)
	srv, err := extauthz.NewServer(engine, extauthz.WithLogger(log), extauthz.WithRegisterer(reg),
		extauthz.WithCheckBudget(cfg.RedisTimeout), extauthz.WithStoreErrors(store.DescribeError), extauthz.WithStoreDownHook(ready.storeFailed))
	if err != nil {
		return err
	}
	grpcTLS, err := cfg.TLS.grpcOptions(log)
	if err != nil {
		return err
	}
	gs := extauthz.NewGRPCServer(srv, hs, grpcTLS...)

	var g runGroup
	defer g.close()
	grpcLis, err := g.listen(cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on --grpc-addr %s: %w (is another authzd running?)", cfg.GRPCAddr, err)
	}
	httpLis, err := g.listen(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w (is another authzd running?)", cfg.HTTPAddr, err)
	}
	authzLis, err := listenAuthzHTTP(cfg)
	if err != nil {
		return err
	}
	g.own(authzLis)
	var authzSrv *http.Server
	if authzLis != nil {
		if authzSrv, err = authzHTTPServer(cfg, engine, log, reg); err != nil {
			return err
		}
	}
	tokens := oauth2.New(st, append(cfg.OAuth2.options(), oauth2.WithLogger(log), oauth2.WithRegisterer(reg))...)
	hsrv := newHTTPServer(cfg.HTTPAddr, ready, reg, tokens)

	if cfg.Dev {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
		printDemo(stdout, redisURL, devKeyFile, grpcLis.Addr().String(), httpLis.Addr().String())
	}

	stopAnnounce := announceMasterKeys(st, log) // for `authzctl secrets rotate-master`
	defer stopAnnounce()
	go ready.watch(watchCtx, st.Ping, pingInterval)

	// The shutdown order, by stage: health NOT_SERVING (Envoy's health
	// checks and Kubernetes stop routing here) and a drain of --drain-delay
	// while they notice (longer than their check interval plus timeout);
	// then the gRPC and HTTP authorization listeners stop gracefully, so
	// in-flight Checks finish, each bounded by --shutdown-timeout; the HTTP
	// listener (health, metrics, tokens) goes last.
	g.add(0, nil, func() { drain(cfg, ready, log) })
	g.add(1, func() error { return gs.Serve(grpcLis) }, func() { stopGRPC(cfg, gs, log) })
	if authzSrv != nil {
		g.add(1, func() error { return serveHTTP(authzSrv, authzLis) }, func() { shutdownAuthzHTTP(cfg, authzSrv, log) })
		log.Info("HTTP authorization listening", slog.String("authz_http_addr", authzLis.Addr().String()))
	}
	g.add(2, func() error { return serveHTTP(hsrv, httpLis) }, func() { stopHTTP(cfg, hsrv, log) })
	log.Info("authzd listening",
		slog.String("grpc_addr", grpcLis.Addr().String()),
		slog.String("http_addr", httpLis.Addr().String()))

	failure := g.run(ctx, func(cause error) {
		if cause == nil {
			log.Info("signal received: shutting down")
			return
		}
		log.Error("listener failed: shutting down", slog.String("error", cause.Error()))
	})
	log.Info("authzd stopped")
	stopWatch()
	if failure != nil {
		return fmt.Errorf("listener failed: %w", failure)
	}
	return nil
}

// serveHTTP serves srv on l until it is shut down, which is not a failure.
func serveHTTP(srv *http.Server, l net.Listener) error {
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// gracefulStopper is the part of grpc.Server shutdown needs.
type gracefulStopper interface {
	GracefulStop()
	Stop()
}

// drain turns health NOT_SERVING and waits --drain-delay for Envoy and
// Kubernetes to notice before any listener stops.
func drain(cfg Config, ready *readiness, log *slog.Logger) {
	ready.stop()
	if cfg.DrainDelay > 0 {
		log.Info("health NOT_SERVING; draining", slog.String("drain_delay", cfg.DrainDelay.String()))
		time.Sleep(cfg.DrainDelay)
	}
}

// stopGRPC lets in-flight RPCs finish, bounded by --shutdown-timeout, then
// closes the connections still open.
func stopGRPC(cfg Config, gs gracefulStopper, log *slog.Logger) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	timer := time.NewTimer(cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		log.Warn("in-flight RPCs did not finish within --shutdown-timeout; closing connections",
			slog.String("shutdown_timeout", cfg.ShutdownTimeout.String()))
		gs.Stop()
		<-done
	}
}

// stopHTTP shuts the HTTP listener down, bounded by --shutdown-timeout.
func stopHTTP(cfg Config, hsrv *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hsrv.Shutdown(ctx); err != nil {
		log.Warn("HTTP listener did not close cleanly", slog.String("error", err.Error()))
	}
}
