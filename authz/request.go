package authz

import (
	"net/url"
	"strings"
	"time"
)

// Request is an HTTP request as the decision core sees it, normalized by a
// transport adapter. Header names are lowercase; values are as received
// (Envoy joins repeated headers with ","). Path and RawQuery are split from
// `:path` exactly as sent, with no decoding, because signatures are computed
// over the raw form.
type Request struct {
	Method   string            // e.g. "GET"
	Host     string            // `:authority`
	Path     string            // raw path, without the query
	RawQuery string            // raw query string, without '?'
	Scheme   string            // "http" or "https"
	Protocol string            // "HTTP/1.1", "HTTP/2", ...
	Headers  map[string]string // lowercase names

	Body []byte
	// BodyTruncated is true when the proxy cut the body short
	// (Envoy's x-envoy-auth-partial-body: true).
	BodyTruncated bool

	// Context is the per-route context (Envoy context_extensions):
	// "api" names the API, "stage" the stage.
	Context map[string]string

	RequestID  string    // x-request-id, for logs
	SourceAddr string    // downstream peer address, for logs and throttling
	Time       time.Time // when the proxy received the request; zero = unknown
}

// Header returns the value of the lowercase header name, or "".
func (r *Request) Header(name string) string {
	return r.Headers[name]
}

// RequestURI is the path and query exactly as the client sent them.
func (r *Request) RequestURI() string {
	if r.RawQuery == "" {
		return r.Path
	}
	return r.Path + "?" + r.RawQuery
}

// SplitPath splits a raw `:path` into path and raw query. A fragment, which
// clients should never send, stays part of the query as received.
func SplitPath(p string) (path, rawQuery string) {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

// QueryParam is one name=value pair of a query string, kept in order and
// with its name as spelled, so that removals can name it exactly.
type QueryParam struct {
	Name  string // decoded
	Value string // decoded
}

// ParseQuery decodes a raw query in order. Pairs that cannot be decoded are
// reported through ok=false so callers can answer BadRequest instead of
// silently dropping a credential.
func ParseQuery(raw string) (params []QueryParam, ok bool) {
	ok = true
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n, err1 := url.QueryUnescape(name)
		v, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			ok = false
			continue
		}
		params = append(params, QueryParam{Name: n, Value: v})
	}
	return params, ok
}
