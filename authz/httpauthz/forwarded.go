package httpauthz

import (
	"errors"
	"strings"

	"github.com/appauthz/appauthz/authz"
)

// Headers a forward-auth proxy describes the original request with. The
// X-Forwarded-* spellings are Traefik's and Caddy's, X-Original-* nginx's
// (set by the shipped nginx.conf).
const (
	hForwardedMethod   = "X-Forwarded-Method"
	hForwardedURI      = "X-Forwarded-Uri"
	hForwardedHost     = "X-Forwarded-Host"
	hForwardedProto    = "X-Forwarded-Proto"
	hForwardedFor      = "X-Forwarded-For"
	hOriginalMethod    = "X-Original-Method"
	hOriginalURI       = "X-Original-Uri"
	hOriginalLength    = "X-Original-Content-Length"
	hOriginalProtocol  = "X-Original-Protocol"
	hOriginalEncoding  = "X-Original-Transfer-Encoding"
	hAPI               = "X-Appauthz-Api"
	hStage             = "X-Appauthz-Stage"
	hAuthRequest       = "X-Appauthz-Auth-Request"
	partialBodyHeader  = "x-envoy-auth-partial-body"
	maxForwardedHeader = 8 << 10 // longer descriptions are refused, not cut
)

// controlHeaders are what a proxy adds to describe the original request;
// they are consumed by the adapter and never part of the request the core
// decides on (lowercase).
var controlHeaders = []string{
	"x-forwarded-method", "x-forwarded-uri", "x-forwarded-host", "x-forwarded-proto",
	"x-original-method", "x-original-uri", "x-original-content-length", "x-original-transfer-encoding", "x-original-protocol",
	"x-appauthz-api", "x-appauthz-stage", "x-appauthz-auth-request",
}

// errUntrusted refuses a forward-auth request from a peer outside
// --trusted-proxies: its description of "the original request" could be
// anything.
var errUntrusted = errors.New("the forward-auth endpoint answers only proxies listed in --trusted-proxies; add the proxy's address to it")

// Trusted is the set of proxies whose X-Forwarded-*, X-Original-* and
// X-Appauthz-Api/Stage headers are believed (--trusted-proxies, the same
// list the OAuth2 endpoint uses for X-Forwarded-For).
type Trusted = authz.TrustedProxies

// Original is the original request as a forward-auth proxy describes it.
type Original struct {
	Method, URI, Host, Scheme string
}

// ParseForwarded reads the original request from the forward-auth
// headers (get returns one header's value, "" when absent; fallbackHost is
// the auth request's own Host). It is strict: the method must be a token,
// the URI origin-form ("/…") and free of control bytes, every value at
// most 8 KiB; the error says which header is wrong without echoing it (a
// URI may hold a credential).
func ParseForwarded(get func(string) string, fallbackHost string) (Original, error) {
	var o Original
	o.Method = firstOf(get, hForwardedMethod, hOriginalMethod)
	if o.Method == "" {
		return o, errors.New("the proxy sent neither X-Forwarded-Method nor X-Original-Method: set one to the original request's method")
	}
	if !isToken(o.Method) {
		return o, errors.New("the forwarded method is not an HTTP method token")
	}
	o.URI = firstOf(get, hForwardedURI, hOriginalURI)
	switch {
	case o.URI == "":
		return o, errors.New("the proxy sent neither X-Forwarded-Uri nor X-Original-URI: set one to the original request URI (nginx: $request_uri)")
	case len(o.URI) > maxForwardedHeader:
		return o, errors.New("the forwarded URI is longer than 8 KiB")
	case o.URI[0] != '/':
		return o, errors.New(`the forwarded URI does not start with "/": send the original request URI in origin form`)
	case hasCTL(o.URI):
		return o, errors.New("the forwarded URI holds a control character or a space")
	}
	o.Host = firstListElement(get(hForwardedHost))
	if o.Host == "" {
		o.Host = fallbackHost
	}
	o.Scheme = strings.ToLower(firstListElement(get(hForwardedProto)))
	if len(o.Host) > maxForwardedHeader || hasCTL(o.Host) || (o.Scheme != "" && o.Scheme != "http" && o.Scheme != "https") {
		return o, errors.New("X-Forwarded-Host or X-Forwarded-Proto is malformed")
	}
	return o, nil
}

func firstOf(get func(string) string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(get(n)); v != "" {
			return v
		}
	}
	return ""
}

// firstListElement is the first element of a comma-separated header (a
// chain of proxies appends; the first describes the client's request).
func firstListElement(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token (a method name).
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
