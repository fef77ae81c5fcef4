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
}

// Option configures a Server.
type Option func(*serverConfig)

type serverConfig struct {
	log    *slog.Logger
	reg    prometheus.Registerer
	now    func() time.Time
	limits Limits
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

// NewServer returns a Server deciding with d. It fails only when the
// metrics cannot be registered (a name taken on the registry).
func NewServer(d Decider, opts ...Option) (*Server, error) {
	c := serverConfig{log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	m, err := newMetrics(c.reg)
	if err != nil {
		return nil, err
	}
	return &Server{decider: d, log: c.log, metrics: m, now: c.now, limits: c.limits.withDefaults()}, nil
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
	case isContextErr(err):
		d = tooLate(authz.Identity{})
	case err != nil:
		d = authz.Decision{Reason: authz.ReasonBadRequest, Message: err.Error()}
	default:
		d = s.decider.Check(ctx, req)
		if ctx.Err() != nil {
			d = tooLate(d.Identity)
		}
	}
	if req == nil {
		req = &authz.Request{Method: logSafeMethod(cr.GetAttributes().GetRequest().GetHttp().GetMethod())}
	}
	resp := ToResponse(d)
	elapsed := s.now().Sub(start)
	s.metrics.observe(d, elapsed)
	s.logDecision(ctx, req, d, elapsed)
	return resp, nil
}

// tooLate is the answer when Envoy has given up (its timeout, 200 ms by
// default) or the deadline passed while we decided: whatever the core
// said, it is "could not decide in time" — fail closed.
func tooLate(id authz.Identity) authz.Decision {
	return authz.Decision{
		Reason:   authz.ReasonStoreUnavailable,
		Message:  "the check did not finish before the proxy's deadline; retry later",
		Identity: id,
	}
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
func (s *Server) logDecision(ctx context.Context, r *authz.Request, d authz.Decision, elapsed time.Duration) {
	level := slog.LevelInfo
	result := "deny"
	if d.Allow {
		level, result = slog.LevelDebug, "allow"
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, "check",
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
	)
	if d.Detail != "" {
		s.log.LogAttrs(ctx, level, "check detail", slog.String("request_id", r.RequestID), slog.String("detail", d.Detail))
	}
}
