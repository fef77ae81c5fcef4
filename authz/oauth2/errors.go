package oauth2

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Error codes of RFC 6749 §5.2 (and RFC 7009 §2.2.1), plus the two this
// endpoint adds: slow_down (borrowed from RFC 8628 §3.5) when failed
// client authentications are throttled, and temporarily_unavailable when
// the store does not answer.
const (
	ErrInvalidRequest         = "invalid_request"
	ErrInvalidClient          = "invalid_client"
	ErrInvalidGrant           = "invalid_grant" // never produced: client_credentials has no grant to check
	ErrUnauthorizedClient     = "unauthorized_client"
	ErrUnsupportedGrantType   = "unsupported_grant_type"
	ErrInvalidScope           = "invalid_scope"
	ErrSlowDown               = "slow_down"
	ErrTemporarilyUnavailable = "temporarily_unavailable"
)

// oauthError is an error answer: its HTTP status, code and description.
type oauthError struct {
	status      int
	code        string
	description string
	retryAfter  time.Duration // slow_down only
}

func fail(status int, code, description string) *oauthError {
	return &oauthError{status: status, code: code, description: description}
}

// badRequest is invalid_request (400).
func badRequest(description string) *oauthError {
	return fail(http.StatusBadRequest, ErrInvalidRequest, description)
}

// badClient is invalid_client (401). The description never says whether
// the app_key or the secret was wrong.
func badClient(description string) *oauthError {
	return fail(http.StatusUnauthorized, ErrInvalidClient, description)
}

// write sends the error as RFC 6749 §5.2 says: JSON, no-store, and on 401
// a Basic challenge (the client authentication scheme this endpoint
// takes).
func (e *oauthError) write(w http.ResponseWriter) {
	h := w.Header()
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="appauthz", charset="UTF-8"`)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// writeJSON writes v with the headers every token endpoint answer carries
// (RFC 6749 §5.1): tokens and errors must never be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
