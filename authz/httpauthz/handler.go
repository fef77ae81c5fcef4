package httpauthz

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// Endpoints of the HTTP authorization listener.
const (
	// PathForward is the forward-auth endpoint (nginx auth_request, Caddy
	// forward_auth, Traefik ForwardAuth).
	PathForward = "/auth"
	// EnvoyPrefix is the path_prefix Envoy's http_service must set.
	EnvoyPrefix = "/envoy"
)

// DefaultMaxBody matches the with_request_body.max_request_bytes of the
// shipped Envoy configs (10 MiB).
const DefaultMaxBody = 10 << 20

// Decider decides one request; *authz.Engine is the production one.
type Decider interface {
	Check(ctx context.Context, r *authz.Request) authz.Decision
}

// Handler is the HTTP authorization endpoint.
type Handler struct {
	decider Decider
	trusted Trusted
	log     *slog.Logger
	maxBody int64
	reg     prometheus.Registerer
	metrics *metrics
}

// Option configures a Handler.
type Option func(*Handler)

// WithTrustedProxies names the proxies whose X-Forwarded-*, X-Original-*
// and X-Appauthz-Api/Stage headers are believed. Forward auth answers only
// them.
func WithTrustedProxies(t Trusted) Option { return func(h *Handler) { h.trusted = t } }

// WithLogger sets the logger of decisions (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithMaxBody caps the body read from Envoy's http_service (default
// DefaultMaxBody); a longer one is a 413 BodyTooLarge deny.
func WithMaxBody(n int64) Option { return func(h *Handler) { h.maxBody = n } }

// WithRegisterer registers the handler's metrics on r (default: kept but
// not exported).
func WithRegisterer(r prometheus.Registerer) Option { return func(h *Handler) { h.reg = r } }

// New returns the handler deciding with d. It fails only when the metrics
// cannot be registered (a name taken on the registry).
func New(d Decider, opts ...Option) (*Handler, error) {
	h := &Handler{decider: d, log: slog.Default(), maxBody: DefaultMaxBody}
	for _, o := range opts {
		o(h)
	}
	m, err := newMetrics(h.reg)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	return h, nil
}

// ServeHTTP answers one authorization request. Every outcome, including
// a malformed description of the original request, is a deny with the
// contract's status, header and body; nothing falls through to allow.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	peer, ok := authz.PeerAddr(r.RemoteAddr)
	trusted := ok && h.trusted.Contains(peer)
	source := authz.ClientAddr(peer, strings.Join(r.Header.Values(hForwardedFor), ","), h.trusted)

	var (
		req      *authz.Request
		err      error
		endpoint string
	)
	switch {
	case r.URL.Path == PathForward:
		endpoint = "forward"
		req, err = forwardRequest(r, trusted, source)
	case r.URL.Path == EnvoyPrefix || strings.HasPrefix(r.URL.Path, EnvoyPrefix+"/"):
		endpoint = "envoy"
		req, err = envoyRequest(r, source, h.maxBody)
	default:
		http.Error(w, "not an authorization endpoint: forward auth uses "+PathForward+", Envoy's http_service path_prefix "+EnvoyPrefix, http.StatusNotFound)
		return
	}

	var d authz.Decision
	switch {
	case errors.Is(err, errTooLarge):
		d = authz.Decision{Reason: authz.ReasonBodyTooLarge, Message: err.Error()}
	case err != nil:
		d = authz.Decision{Reason: authz.ReasonBadRequest, Message: err.Error()}
	default:
		d = h.decider.Check(r.Context(), req)
		if r.Context().Err() != nil {
			// The proxy gave up while we decided: fail closed, as the gRPC
			// path does.
			d = authz.TooLate(r.Context(), d.Identity)
		}
	}
	uri := ""
	if req != nil {
		uri = req.RequestURI()
	}
	authRequest := trusted && r.URL.Path == PathForward && r.Header.Get(hAuthRequest) != ""
	writeDecision(w, d, uri, authRequest)
	elapsed := time.Since(start)
	h.metrics.observe(endpoint, d, elapsed)
	h.logDecision(r, req, d, elapsed)
}

// logDecision writes one line per decision (denies at INFO, allows at
// DEBUG) with codes and ids only: never a header value, the query or the
// body.
func (h *Handler) logDecision(r *http.Request, req *authz.Request, d authz.Decision, elapsed time.Duration) {
	level, result := slog.LevelInfo, "deny"
	if d.Allow {
		level, result = slog.LevelDebug, "allow"
	}
	ctx := r.Context()
	if !h.log.Enabled(ctx, level) {
		return
	}
	var method, path, id string
	if req != nil {
		method, path, id = req.Method, req.Path, req.RequestID
	}
	attrs := []slog.Attr{
		slog.String("transport", "http"),
		slog.String("result", result),
		slog.String("reason", string(d.Reason)),
		slog.Int("status", d.Status()),
		slog.String("request_id", id),
		slog.String("method", method),
		slog.String("path", path),
		slog.String("api", d.Identity.API),
		slog.String("app_id", d.Identity.AppID),
		slog.String("auth_method", string(d.Identity.Method)),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if d.Detail != "" {
		// Why a request was refused, for the operator only (the caller got
		// the plain reason): e.g. a missing grant and how to add it.
		attrs = append(attrs, slog.String("detail", d.Detail))
	}
	h.log.LogAttrs(ctx, level, "check", attrs...)
}
