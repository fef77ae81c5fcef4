package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// rateLimitOptions wires --ratelimit-fail-open.
func rateLimitOptions(cfg Config, log *slog.Logger, reg prometheus.Registerer) ([]authz.EngineOption, error) {
	if !cfg.RateLimitFailOpen {
		return nil, nil
	}
	report, err := newBypassReporter(log, reg)
	if err != nil {
		return nil, err
	}
	log.Warn("--ratelimit-fail-open: traffic limits are not enforced while Redis fails; authentication and the replay guard still fail closed")
	return []authz.EngineOption{authz.WithRateLimitFailOpen(report)}, nil
}

// newBypassReporter logs each request let through without its limits at
// WARN and counts it in appauthz_ratelimit_bypassed_total, so an operator
// sees at once that limits are not being enforced.
func newBypassReporter(log *slog.Logger, reg prometheus.Registerer) (func(context.Context, authz.Identity, error), error) {
	bypassed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appauthz_ratelimit_bypassed_total",
		Help: "Authenticated requests let through without their traffic limits because Redis failed (--ratelimit-fail-open), by API.",
	}, []string{"api"})
	if err := reg.Register(bypassed); err != nil {
		return nil, err
	}
	return func(ctx context.Context, id authz.Identity, err error) {
		bypassed.WithLabelValues(id.API).Inc()
		log.LogAttrs(ctx, slog.LevelWarn, "traffic limits not enforced: Redis failed; request let through (--ratelimit-fail-open)",
			slog.String("api", id.API), slog.String("app_id", id.AppID), slog.String("error", err.Error()))
	}, nil
}
