package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/health"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
)

// pingInterval is how often readiness asks Redis.
const pingInterval = time.Second

// errNotSubscribed makes authzd unready while the cache cannot hear
// invalidations: it then fetches every record (slower), and if Redis is
// failing too it answers from the stale window, so Envoy should prefer
// replicas that hear them.
var errNotSubscribed = errors.New("the cache is not subscribed to the invalidation channel (Redis down or unreachable?)")

// readiness tracks whether authzd can decide: Redis answers, the cache
// (when on) hears invalidations, and no shutdown has begun. It drives both
// gRPC health (Envoy's grpc_health_check, Kubernetes gRPC probes) and
// /readyz.
//
// Two signals feed it. The cache's subscription is the cheap one: when
// Redis dies the subscriber's connection breaks at once, and health turns
// NOT_SERVING from that event, without waiting for a ping that may hang for
// --redis-timeout. The ping, every pingInterval, catches what the
// subscription cannot see (the cache off, Redis refusing commands) and
// confirms Redis before health turns SERVING again.
type readiness struct {
	hs  *health.Server
	log *slog.Logger
	// recheck asks watch to check now rather than at its next tick (the
	// cache's subscription came back).
	recheck chan struct{}

	// needSub is set when the cache is on: without its subscription
	// authzd is not ready. subUp is the subscription's last state.
	needSub bool
	subUp   atomic.Bool

	// mu orders the reports of watch and of the subscription hook, so a
	// ping that began before the subscription broke cannot turn health
	// back to SERVING after it.
	mu       sync.Mutex
	up       atomic.Bool // what health says; written under mu
	reported bool        // the first report is logged even without a change
	stopping atomic.Bool
	// pinged is set by the first ping, whose failure is logged although
	// health was already NOT_SERVING: a wrong password or an untrusted
	// Redis certificate must be told at start-up.
	pinged atomic.Bool

	// decrypt reports secrets that did not open; it never changes
	// readiness (see decryptWatch).
	decrypt decryptWatch
}

// newReadiness starts NOT_SERVING: nothing is ready until Redis answers.
// needSubscription says the cache is on, so its invalidation subscription
// must be up too (report its changes with subscriptionChanged).
func newReadiness(hs *health.Server, log *slog.Logger, needSubscription bool) *readiness {
	extauthz.SetServing(hs, false)
	return &readiness{hs: hs, log: log, recheck: make(chan struct{}, 1), needSub: needSubscription, decrypt: decryptWatch{now: time.Now}}
}

// Ready reports whether Checks can be decided.
func (r *readiness) Ready() bool { return r.up.Load() && !r.stopping.Load() }

// storeFailed is the Check path's report of a StoreUnavailable deny.
func (r *readiness) storeFailed(f authz.StoreFailure) { r.decrypt.observe(f) }

// Stopping reports whether shutdown has begun.
func (r *readiness) Stopping() bool { return r.stopping.Load() }

// Recheck makes watch check again at once.
func (r *readiness) Recheck() {
	select {
	case r.recheck <- struct{}{}:
	default: // one is already pending
	}
}

// subscriptionChanged is the cache's subscription hook. A lost
// subscription turns health NOT_SERVING here and now; one that came back
// makes watch ping Redis before health turns SERVING.
func (r *readiness) subscriptionChanged(up bool) {
	r.subUp.Store(up)
	if !up {
		r.set(errNotSubscribed)
	}
	r.Recheck()
}

// subscriptionLost is the cheap signal: no Redis call.
func (r *readiness) subscriptionLost() bool { return r.needSub && !r.subUp.Load() }

// watch checks now and then every interval until ctx ends, flipping
// health on every change.
func (r *readiness) watch(ctx context.Context, ping func(context.Context) error, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.probe(ctx, ping)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.recheck:
		}
	}
}

// probe checks the cheap signal first: with the subscription down the
// answer is known without asking Redis, whose ping could only hang. The
// first ping runs regardless, to say why Redis refuses at start-up.
func (r *readiness) probe(ctx context.Context, ping func(context.Context) error) {
	if r.subscriptionLost() && r.pinged.Load() {
		r.set(errNotSubscribed)
		return
	}
	err := ping(ctx)
	r.pinged.Store(true)
	r.set(err)
}

// set reports one check: pingErr is the ping's result, or errNotSubscribed.
func (r *readiness) set(pingErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := pingErr
	if err == nil && r.subscriptionLost() {
		err = errNotSubscribed // read under mu: see the field's comment
	}
	if r.stopping.Load() {
		return
	}
	up := err == nil
	first := !r.reported
	r.reported = true
	if r.up.Load() == up && !first {
		return
	}
	r.up.Store(up)
	extauthz.SetServing(r.hs, up) // ignored by hs once shutdown began
	switch {
	case up:
		r.log.Info("ready (Redis answers; cache subscribed to invalidations when on): health SERVING")
	case errors.Is(err, errNotSubscribed):
		r.log.Warn("not ready: health NOT_SERVING", slog.String("reason", "subscription"), slog.String("error", err.Error()))
	default:
		r.log.Warn("not ready: health NOT_SERVING; check --redis-url and that Redis is up", slog.String("reason", "ping"), slog.String("error", err.Error()))
	}
}

// stop marks authzd NOT_SERVING for good: Envoy and Kubernetes stop
// sending new Checks while in-flight ones finish.
func (r *readiness) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopping.Store(true)
	r.hs.Shutdown() // every service NOT_SERVING; later updates ignored
}
