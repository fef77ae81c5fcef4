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

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on --grpc-addr %s: %w (is another authzd running?)", cfg.GRPCAddr, err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listen on --http-addr %s: %w (is another authzd running?)", cfg.HTTPAddr, err)
	}
	authzLis, err := listenAuthzHTTP(cfg)
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	var authzSrv *http.Server
	if authzLis != nil {
		defer authzLis.Close()
		if authzSrv, err = authzHTTPServer(cfg, engine, log, reg); err != nil {
			grpcLis.Close()
			httpLis.Close()
			return err
		}
	}
	tokens := oauth2.New(st, append(cfg.OAuth2.options(), oauth2.WithLogger(log), oauth2.WithRegisterer(reg))...)
	hsrv := newHTTPServer(cfg.HTTPAddr, ready, reg, tokens)

	if cfg.Dev {
		if err := seedDemo(ctx, st); err != nil {
			grpcLis.Close()
			httpLis.Close()
			return err
		}
		printDemo(stdout, redisURL, devKeyFile, grpcLis.Addr().String(), httpLis.Addr().String())
	}

	stopAnnounce := announceMasterKeys(st, log) // for `authzctl secrets rotate-master`
	defer stopAnnounce()
	go ready.watch(watchCtx, st.Ping, pingInterval)

	serveErr := make(chan error, 3)
	go func() { serveErr <- gs.Serve(grpcLis) }()
	go func() {
		if err := hsrv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	if authzSrv != nil {
		go func() {
			if err := authzSrv.Serve(authzLis); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
		log.Info("HTTP authorization listening", slog.String("authz_http_addr", authzLis.Addr().String()))
	}
	log.Info("authzd listening",
		slog.String("grpc_addr", grpcLis.Addr().String()),
		slog.String("http_addr", httpLis.Addr().String()))

	var failure error
	select {
	case <-ctx.Done():
		log.Info("signal received: shutting down")
	case err := <-serveErr:
		failure = fmt.Errorf("listener failed: %w", err)
		log.Error("listener failed: shutting down", slog.String("error", err.Error()))
	}
	shutdown(cfg, ready, gs, hsrv, log, authzSrv)
	stopWatch()
	return failure
}

// gracefulStopper is the part of grpc.Server shutdown needs.
type gracefulStopper interface {
	GracefulStop()
	Stop()
}

// shutdown: health NOT_SERVING (Envoy's health checks and Kubernetes stop
// routing here), a drain of --drain-delay while they notice (longer than
// their check interval plus timeout), then GracefulStop so in-flight
// Checks finish, bounded by --shutdown-timeout.
func shutdown(cfg Config, ready *readiness, gs gracefulStopper, hsrv *http.Server, log *slog.Logger, authzSrv *http.Server) {
	ready.stop()
	if cfg.DrainDelay > 0 {
		log.Info("health NOT_SERVING; draining", slog.String("drain_delay", cfg.DrainDelay.String()))
		time.Sleep(cfg.DrainDelay)
	}
	done := make(chan struct{})
	authzDone := make(chan struct{})
	go func() { shutdownAuthzHTTP(cfg, authzSrv, log); close(authzDone) }()
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
	<-authzDone
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hsrv.Shutdown(ctx); err != nil {
		log.Warn("HTTP listener did not close cleanly", slog.String("error", err.Error()))
	}
	log.Info("authzd stopped")
}
