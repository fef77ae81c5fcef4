package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"

	"github.com/appauthz/appauthz/authz/extauthz"
)

// pingInterval is how often readiness asks Redis.
const pingInterval = time.Second

// readiness tracks whether authzd can decide: Redis answers and no
// shutdown has begun. It drives both gRPC health (Envoy's
// grpc_health_check, Kubernetes gRPC probes) and /readyz.
type readiness struct {
	hs       *health.Server
	redisUp  atomic.Bool
	stopping atomic.Bool
	// checked is set by the first ping, whose failure is logged although
	// health was already NOT_SERVING: a wrong password or an untrusted
	// Redis certificate must be told at start-up.
	checked atomic.Bool
	log     *slog.Logger
	// recheck asks watch to check now rather than at its next tick (the
	// cache's subscription came or went).
	recheck chan struct{}
}

// newReadiness starts NOT_SERVING: nothing is ready until Redis answers.
func newReadiness(hs *health.Server, log *slog.Logger) *readiness {
	extauthz.SetServing(hs, false)
	return &readiness{hs: hs, log: log, recheck: make(chan struct{}, 1)}
}

// Ready reports whether Checks can be decided.
func (r *readiness) Ready() bool { return r.redisUp.Load() && !r.stopping.Load() }

// Stopping reports whether shutdown has begun.
func (r *readiness) Stopping() bool { return r.stopping.Load() }

// Recheck makes watch check again at once.
func (r *readiness) Recheck() {
	select {
	case r.recheck <- struct{}{}:
	default: // one is already pending
	}
}

// watch pings Redis now and then every interval until ctx ends, flipping
// health on every change.
func (r *readiness) watch(ctx context.Context, ping func(context.Context) error, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.set(ping(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.recheck:
		}
	}
}

func (r *readiness) set(pingErr error) {
	up := pingErr == nil
	if r.stopping.Load() {
		return
	}
	first := !r.checked.Swap(true)
	if was := r.redisUp.Swap(up); was == up && !first {
		return
	}
	extauthz.SetServing(r.hs, up) // ignored by hs once shutdown began
	if up {
		r.log.Info("ready (Redis answers; cache subscribed to invalidations when on): health SERVING")
	} else {
		r.log.Warn("not ready (Redis does not answer, or the cache lost its invalidation subscription): health NOT_SERVING; check --redis-url and that Redis is up",
			slog.String("error", pingErr.Error()))
	}
}

// stop marks authzd NOT_SERVING for good: Envoy and Kubernetes stop
// sending new Checks while in-flight ones finish.
func (r *readiness) stop() {
	r.stopping.Store(true)
	r.hs.Shutdown() // every service NOT_SERVING; later updates ignored
}
