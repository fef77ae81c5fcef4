package extauthz

import (
	"context"
	"log/slog"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// Decider decides one request. *authz.Engine is the production Decider;
// the interface lets the adapter be tested on its own.
type Decider interface {
	Check(ctx context.Context, r *authz.Request) authz.Decision
}

// Server implements Envoy's envoy.service.auth.v3.Authorization service.
type Server struct {
	authv3.UnimplementedAuthorizationServer

	decider Decider
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	limits  Limits

	budget    time.Duration
	describe  func(error) authz.StoreFailure
	storeDown func(authz.StoreFailure)
}

// Option configures a Server.
type Option func(*serverConfig)

type serverConfig struct {
	log       *slog.Logger
	reg       prometheus.Registerer
	now       func() time.Time
	limits    Limits
	budget    time.Duration
	describe  func(error) authz.StoreFailure
	storeDown func(authz.StoreFailure)
}

// WithLogger sets the logger of decisions (default slog.Default()). Use a
// JSON handler in production: one line per decision.
func WithLogger(l *slog.Logger) Option { return func(c *serverConfig) { c.log = l } }

// WithRegisterer registers the server's metrics on r (default: none, the
// metrics are kept but not exported).
func WithRegisterer(r prometheus.Registerer) Option { return func(c *serverConfig) { c.reg = r } }

// WithLimits bounds the header fields of one CheckRequest (default
// DefaultLimits). A request over a limit gets a BadRequest deny.
func WithLimits(l Limits) Option { return func(c *serverConfig) { c.limits = l } }

// WithCheckBudget bounds each Check as a whole: every store round trip of
// one Check shares this budget, so no sequence of slow calls can add up to
// more. A shorter deadline sent by the proxy wins (see checkBudget).
// Default: none beyond the proxy's deadline.
func WithCheckBudget(d time.Duration) Option { return func(c *serverConfig) { c.budget = d } }

// WithStoreErrors classifies the store errors behind StoreUnavailable denies
// for the log and appauthz_store_unavailable_total (default
// authz.ClassifyStoreError; authzd passes store.DescribeError, which also
// knows Redis replies and secrets that do not open).
func WithStoreErrors(describe func(error) authz.StoreFailure) Option {
	return func(c *serverConfig) { c.describe = describe }
}

// WithStoreDownHook calls f on every StoreUnavailable deny, with its cause
// (authzd's readiness reports master-key problems from it). f must be
// fast: it runs on the Check's path.
func WithStoreDownHook(f func(authz.StoreFailure)) Option {
	return func(c *serverConfig) { c.storeDown = f }
}

// NewServer returns a Server deciding with d. It fails only when the
// metrics cannot be registered (a name taken on the registry).
func NewServer(d Decider, opts ...Option) (*Server, error) {
	c := serverConfig{log: slog.Default(), now: time.Now, describe: authz.ClassifyStoreError}
	for _, o := range opts {
		o(&c)
	}
	m, err := newMetrics(c.reg)
	if err != nil {
		return nil, err
	}
	return &Server{decider: d, log: c.log, metrics: m, now: c.now, limits: c.limits.withDefaults(),
		budget: c.budget, describe: c.describe, storeDown: c.storeDown}, nil
}

// Check answers one ext_authz Check. It returns an RPC error only through
// the recovery interceptor (a panic); every decision, including "the store
// is down" and "the deadline passed", is a CheckResponse deny, so no path
// falls through to allow.
//
// A CheckRequest over the server's Limits is a BadRequest deny; a caller
// that has already given up (cancelled, or past its deadline) gets the
// "too late" deny without any conversion or store work.
func (s *Server) Check(ctx context.Context, cr *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	start := s.now()
	req, err := ToRequestContext(ctx, cr, s.limits)
	var d authz.Decision
	switch {
	case authz.DeadlinePassed(err):
		d = authz.TooLate(ctx, authz.Identity{})
	case err != nil:
		d = authz.Decision{Reason: authz.ReasonBadRequest, Message: err.Error()}
	default:
		// The budget bounds the waiting for Redis. A decision the core
		// still reached (a stale cached record, when Redis did not answer)
		// stands while the proxy waits; past the proxy's own deadline
		// nothing does.
		bctx, cancel := checkBudget(ctx, s.budget)
		d = s.decider.Check(bctx, req)
		cancel()
		if ctx.Err() != nil {
			d = authz.TooLate(ctx, d.Identity)
		}
	}
	if req == nil {
		req = &authz.Request{Method: logSafeMethod(cr.GetAttributes().GetRequest().GetHttp().GetMethod())}
	}
	var sf authz.StoreFailure
	if d.Reason == authz.ReasonStoreUnavailable {
		sf = s.describe(d.Err)
		if !sf.Cause.Known() {
			sf.Cause = authz.CauseOther // keeps the metric's label set fixed
		}
		s.metrics.observeStoreDown(sf.Cause)
		if s.storeDown != nil {
			s.storeDown(sf)
		}
	}
	resp := ToResponse(d)
	elapsed := s.now().Sub(start)
	s.metrics.observe(d, elapsed)
	s.logDecision(ctx, req, d, sf, elapsed)
	return resp, nil
}

// logSafeMethod bounds the method of a rejected CheckRequest before it is
// logged: it was not validated and may be megabytes long.
func logSafeMethod(m string) string {
	const maxLogged = 32
	if len(m) > maxLogged {
		return m[:maxLogged] + "…"
	}
	return m
}

// logDecision writes one line per decision: denies at INFO, allows at
// DEBUG. It logs codes and ids only — never a header value, the query, the
// body or a credential.
//
// A StoreUnavailable deny also carries store_cause and, when it is safe to
// log, store_error: the operator learns why without a credential leaking.
func (s *Server) logDecision(ctx context.Context, r *authz.Request, d authz.Decision, sf authz.StoreFailure, elapsed time.Duration) {
	level := slog.LevelInfo
	result := "deny"
	if d.Allow {
		level, result = slog.LevelDebug, "allow"
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("result", result),
		slog.String("reason", string(d.Reason)),
		slog.Int("status", d.Status()),
		slog.String("request_id", r.RequestID),
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.String("api", d.Identity.API),
		slog.String("app_id", d.Identity.AppID),
		slog.String("auth_method", string(d.Identity.Method)),
		slog.String("key_id", d.Identity.KeyID),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if d.Detail != "" {
		// Why a credential was refused, for the operator only (the caller
		// got the plain reason): e.g. a key used outside its methods.
		attrs = append(attrs, slog.String("detail", d.Detail))
	}
	if sf.Cause != "" {
		attrs = append(attrs, slog.String("store_cause", string(sf.Cause)))
		if sf.Detail != "" {
			attrs = append(attrs, slog.String("store_error", sf.Detail))
		}
	}
	s.log.LogAttrs(ctx, level, "check", attrs...)
}
