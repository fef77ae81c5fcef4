package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
)

// Defaults of the token endpoint.
const (
	DefaultTokenTTL      = time.Hour
	DefaultMaxFailures   = 10
	DefaultFailureWindow = time.Minute
)

// Handler serves /oauth2/token and /oauth2/revoke.
type Handler struct {
	backend     Backend
	ttl         time.Duration
	maxFailures int64
	window      time.Duration
	trusted     authz.TrustedProxies
	now         func() time.Time
	log         *slog.Logger
	requests    *prometheus.CounterVec
}

// Option configures a Handler.
type Option func(*Handler)

// WithTokenTTL sets how long issued tokens live (default 1h). A token
// never outlives its key's --expires.
func WithTokenTTL(d time.Duration) Option { return func(h *Handler) { h.ttl = d } }

// WithFailureLimit sets how many failed client authentications an app_key
// or a source address may make before the endpoint answers 429, and how
// long a count lasts after the last failure (default 10 per 1m).
func WithFailureLimit(n int, window time.Duration) Option {
	return func(h *Handler) { h.maxFailures, h.window = int64(n), window }
}

// WithTrustedProxies names the proxies (e.g. Envoy) whose X-Forwarded-For
// is believed when finding a request's source address for throttling.
func WithTrustedProxies(p []netip.Prefix) Option { return func(h *Handler) { h.trusted = p } }

// WithLogger logs one line per token request (never a token or secret).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock injects the clock used for key expiry (tests).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithRegisterer registers appauthz_oauth2_requests_total{endpoint,outcome}.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(h *Handler) {
		h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appauthz_oauth2_requests_total",
			Help: "Requests to the OAuth2 endpoints by endpoint and outcome (ok or the RFC 6749 error code).",
		}, []string{"endpoint", "outcome"})
		reg.MustRegister(h.requests)
	}
}

// New returns a Handler over b.
func New(b Backend, opts ...Option) *Handler {
	h := &Handler{
		backend: b, ttl: DefaultTokenTTL, maxFailures: DefaultMaxFailures, window: DefaultFailureWindow,
		now: time.Now, log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Register mounts the endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/token", h.Token)
	mux.HandleFunc("POST /oauth2/revoke", h.Revoke)
}

// tokenResponse is RFC 6749 §5.1. A key without scopes gets a token
// without scopes, and the optional scope field is left out rather than
// sent empty.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// Token is POST /oauth2/token: the client credentials grant.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(r)
	if e == nil {
		switch gt := form.Get("grant_type"); gt {
		case "":
			e = badRequest("grant_type is missing: send grant_type=client_credentials")
		case "client_credentials":
		default:
			e = fail(http.StatusBadRequest, ErrUnsupportedGrantType, "only grant_type=client_credentials is supported")
		}
	}
	var cl *Client
	if e == nil {
		cl, e = h.authenticate(r.Context(), r, form)
	}
	var scopes []string
	if e == nil {
		scopes, e = narrowScopes(form.Get("scope"), cl.Scopes)
	}
	var resp tokenResponse
	if e == nil {
		resp, e = h.issue(r.Context(), cl, scopes)
	}
	if e != nil {
		h.refuse(w, r, "token", cl, e)
		return
	}
	h.count("token", "ok")
	h.log.InfoContext(r.Context(), "oauth2 token issued", slog.String("app_id", cl.AppID), slog.String("key_id", cl.KeyID),
		slog.String("scope", resp.Scope), slog.Int64("expires_in", resp.ExpiresIn), slog.String("source", h.source(r)))
	writeJSON(w, http.StatusOK, resp)
}

// issue mints a token for cl and records its hash.
func (h *Handler) issue(ctx context.Context, cl *Client, scopes []string) (tokenResponse, *oauthError) {
	ttl, now := h.ttl, h.now()
	if at, ok := cl.ExpiresAt.Time(); ok {
		if cl.ExpiresAt.Passed(now) { // any past instant, the epoch and year 1 too
			return tokenResponse{}, badClient("the client credentials are not valid")
		}
		ttl = min(ttl, at.Sub(now)) // at is after now: Sub saturates at the maximum, never wraps
	}
	if ttl < time.Second {
		return tokenResponse{}, badClient("the client credentials are not valid")
	}
	ttl = ttl.Truncate(time.Second)
	tok := newToken()
	err := h.backend.SaveToken(ctx, Token{Hash: authz.HashToken(tok), AppID: cl.AppID, KeyID: cl.KeyID, KeyHash: cl.KeyHash, Record: cl.Record, Scopes: scopes, TTL: ttl})
	switch {
	case errors.Is(err, ErrClientGone):
		return tokenResponse{}, badClient("the client credentials are not valid")
	case errors.Is(err, ErrClientDisabled):
		return tokenResponse{}, fail(http.StatusBadRequest, ErrUnauthorizedClient, "the app or its app_key is disabled")
	case err != nil:
		return tokenResponse{}, h.storeDown(ctx, err)
	}
	return tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: strings.Join(scopes, " ")}, nil
}

// Revoke is POST /oauth2/revoke (RFC 7009): the client revokes one of its
// app's tokens. An unknown or expired token is not an error (§2.2).
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(r)
	if e == nil && form.Get("token") == "" {
		e = badRequest("token is missing: send token=<the access token>")
	}
	var cl *Client
	if e == nil {
		cl, e = h.authenticate(r.Context(), r, form)
	}
	if e == nil {
		// token_type_hint is ignored: access tokens are the only kind.
		err := h.backend.RevokeToken(r.Context(), authz.HashToken(form.Get("token")), cl.AppID)
		switch {
		case errors.Is(err, ErrNotOwner):
			e = fail(http.StatusBadRequest, ErrUnauthorizedClient, "the token was not issued to this app")
		case err != nil:
			e = h.storeDown(r.Context(), err)
		}
	}
	if e != nil {
		h.refuse(w, r, "revoke", cl, e)
		return
	}
	h.count("revoke", "ok")
	h.log.InfoContext(r.Context(), "oauth2 token revoked", slog.String("app_id", cl.AppID), slog.String("key_id", cl.KeyID))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// narrowScopes checks a requested scope (space-separated) against the
// key's scopes: a subset is granted as asked, anything else is
// invalid_scope. No scope asked means all the key's scopes.
func narrowScopes(requested string, have []string) ([]string, *oauthError) {
	if strings.TrimSpace(requested) == "" {
		return slices.Clone(have), nil
	}
	var out []string
	for _, s := range strings.Fields(requested) {
		if !authz.ValidScope(s) {
			return nil, fail(http.StatusBadRequest, ErrInvalidScope, "scope holds a character RFC 6749 §3.3 does not allow")
		}
		if !slices.Contains(have, s) {
			return nil, fail(http.StatusBadRequest, ErrInvalidScope, "scope "+s+" is not among the app_key's scopes")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// newToken is 256 bits from crypto/rand, base64url: opaque and unguessable.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *Handler) storeDown(ctx context.Context, err error) *oauthError {
	h.log.ErrorContext(ctx, "oauth2: the store failed", slog.String("error", err.Error()))
	return fail(http.StatusServiceUnavailable, ErrTemporarilyUnavailable, "the credential store is unavailable; retry later")
}

// refuse writes e and logs it with what is known of the client.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, endpoint string, cl *Client, e *oauthError) {
	h.count(endpoint, e.code)
	attrs := []any{slog.String("endpoint", endpoint), slog.String("error", e.code), slog.Int("status", e.status), slog.String("source", h.source(r))}
	if cl != nil {
		attrs = append(attrs, slog.String("app_id", cl.AppID), slog.String("key_id", cl.KeyID))
	}
	h.log.InfoContext(r.Context(), "oauth2 request refused", attrs...)
	e.write(w)
}

func (h *Handler) count(endpoint, outcome string) {
	if h.requests != nil {
		h.requests.WithLabelValues(endpoint, outcome).Inc()
	}
}
