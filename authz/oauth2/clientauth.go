package oauth2

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// maxFormBytes bounds a token request body: its fields are a few hundred
// bytes at most.
const maxFormBytes = 16 << 10

// readForm reads the x-www-form-urlencoded body. Credentials in the URL
// and repeated parameters are refused (RFC 6749 §2.3.1, §3.2).
func readForm(r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("send the parameters as an application/x-www-form-urlencoded body")
	}
	if q := r.URL.Query(); q.Has("client_secret") || q.Has("token") {
		return nil, badRequest("credentials and tokens must be sent in the body, never in the URL")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxFormBytes))
	if err != nil {
		return nil, badRequest("the body could not be read or is over 16 KiB")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("the body is not valid x-www-form-urlencoded data")
	}
	for name, vs := range form {
		if len(vs) > 1 {
			return nil, badRequest("parameter " + name + " is given more than once")
		}
	}
	return form, nil
}

// authenticate finds the client's app_key and secret (HTTP Basic or form
// fields, not both: RFC 6749 §2.3), refuses throttled callers before
// looking at the secret, and checks the secret in constant time. Every
// failure is invalid_client with the same description, so a caller never
// learns whether the key or the secret was wrong.
//
// Failures are throttled per client, not per connection: a request that
// names an existing key is counted and throttled against that key only,
// one naming no key against its source address only. So guessing the
// secret of key K locks K but no other key, and a source spraying unknown
// keys locks itself out but not a client with a valid key behind the same
// proxy.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, form url.Values) (*Client, *oauthError) {
	appKey, secrets, e := clientCredentials(r, form)
	if e != nil {
		return nil, e
	}
	source := h.source(r)
	cl, fails, err := h.backend.TokenClient(ctx, appKey, source)
	if err != nil {
		return nil, h.storeDown(ctx, err)
	}
	if wait := h.throttled(cl, fails); wait > 0 {
		e := fail(http.StatusTooManyRequests, ErrSlowDown, "too many failed client authentications; retry after the time in Retry-After")
		e.retryAfter = wait
		return nil, e
	}
	stored := ""
	if cl != nil {
		stored = cl.Secret
	}
	ok := false
	for _, s := range secrets { // compare every candidate: no early exit
		if subtle.ConstantTimeCompare([]byte(s), []byte(stored)) == 1 {
			ok = true
		}
	}
	// A key restricted to other methods (authzctl key create --methods)
	// fails like an unknown one; only the log says why.
	restricted := cl != nil && len(cl.Methods) > 0 && !slices.Contains(cl.Methods, authz.MethodOAuth2)
	if restricted {
		h.log.InfoContext(ctx, "oauth2: client key may not be used with oauth2", slog.String("key_id", cl.KeyID), slog.String("app_id", cl.AppID))
	}
	if cl == nil || restricted || !ok || stored == "" || cl.ExpiresAt.Passed(h.now()) {
		counted := ""
		if cl != nil {
			counted = cl.KeyHash // count guesses against keys that exist
		}
		if err := h.backend.CountAuthFailure(ctx, counted, source, h.window); err != nil {
			return nil, h.storeDown(ctx, err)
		}
		return nil, badClient("the client credentials are not valid")
	}
	if cl.Status == authz.StatusDisabled {
		return nil, fail(http.StatusBadRequest, ErrUnauthorizedClient, "the app or its app_key is disabled")
	}
	return cl, nil
}

// throttled is how long to wait, or 0: when the request names an existing
// key, while that key is over the failure limit; otherwise while the
// source is.
func (h *Handler) throttled(cl *Client, f Failures) time.Duration {
	c := f.Source
	if cl != nil {
		c = f.Key
	}
	if h.maxFailures <= 0 || c.Count < h.maxFailures {
		return 0
	}
	return max(c.TTL, time.Second)
}

// clientCredentials returns the app_key and the candidate secrets. With
// Basic, RFC 6749 §2.3.1 has both form-urlencoded before base64; a client
// that skipped that step is still understood, so the raw value is a
// candidate too.
func clientCredentials(r *http.Request, form url.Values) (string, []string, *oauthError) {
	hdr := r.Header.Get("Authorization")
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	scheme, rest, _ := strings.Cut(strings.TrimSpace(hdr), " ")
	basic := strings.EqualFold(scheme, "basic")
	switch {
	case basic && (form.Has("client_id") || form.Has("client_secret")):
		return "", nil, badRequest("authenticate with HTTP Basic or with client_id/client_secret, not both")
	case basic:
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", nil, badClient("the Basic credentials are not valid base64 of app_key:app_secret")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" {
			return "", nil, badClient("the Basic credentials are not app_key:app_secret")
		}
		secrets := []string{pass}
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if p, err := url.QueryUnescape(pass); err == nil && p != pass {
			secrets = append(secrets, p)
		}
		return user, secrets, nil
	case formID != "" && formSecret != "":
		return formID, []string{formSecret}, nil
	case formID != "":
		return "", nil, badClient("client_secret is missing: every app_key is a confidential client")
	}
	return "", nil, badClient("client authentication is missing: send HTTP Basic app_key:app_secret, or client_id and client_secret")
}

// source is the address failed authentications are counted against: the
// peer, or, when the peer is a trusted proxy, the rightmost address in
// X-Forwarded-For that is not one.
func (h *Handler) source(r *http.Request) string {
	peer, ok := authz.PeerAddr(r.RemoteAddr)
	if !ok {
		return "unknown"
	}
	return authz.ClientAddr(peer, strings.Join(r.Header.Values("X-Forwarded-For"), ","), h.trusted)
}
