package authz

import (
	"fmt"
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

// MaxQueryParams caps the parameters of a query string (and of a signed
// form body): a request with more is refused before any is decoded, so a
// huge query costs one linear scan and no allocations.
const MaxQueryParams = 1000

// QueryParam is one name=value pair of a query string, kept in order and
// with its name as spelled on the wire, so that removals can name it
// exactly as the proxy will match it.
type QueryParam struct {
	Name  string // decoded ('+' is a space); a bad % escape is kept as is
	Value string // decoded, as Name
	// RawName is the name exactly as sent, undecoded. Envoy's
	// query_parameters_to_remove matches this spelling, case-sensitively.
	RawName string
	// Malformed is set when the name or value holds a % not followed by
	// two hex digits; Name and Value then keep those bytes undecoded.
	Malformed bool
}

// ParseQuery splits a raw query string into its parameters, in order. It
// is lenient: a pair with a bad % escape is kept (Malformed, its bytes as
// sent), because an unrelated parameter such as q=50% must not refuse a
// request whose credential is elsewhere, and the upstream gets the query
// as sent anyway. It refuses only what authzd cannot decide on safely:
// more than MaxQueryParams parameters, and a credential parameter (see
// IsCredentialParam) that is malformed, since the upstream might read it
// differently from authzd.
func ParseQuery(raw string) ([]QueryParam, error) {
	params, err := parsePairs(raw)
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		if p.Malformed && IsCredentialParam(p.Name) {
			return nil, fmt.Errorf("the query parameter %q has a malformed %% escape: encode a literal %% as %%25", truncate(p.RawName))
		}
	}
	return params, nil
}

// IsCredentialParam reports whether a decoded query parameter name carries
// a credential: AppCode in any letter case, and appKey, sign, apiTimestamp
// and signMethod as spelled (the names every detector reads).
func IsCredentialParam(name string) bool {
	switch name {
	case "appKey", "sign", "apiTimestamp", "signMethod":
		return true
	}
	return strings.EqualFold(name, "appcode")
}

// parsePairs is the lenient parser shared by query strings and form
// bodies. Pairs are split on '&' and the name ends at the first '=', the
// way Envoy splits them when it removes parameters; empty pairs are
// skipped.
func parsePairs(raw string) ([]QueryParam, error) {
	n := countPairs(raw)
	if n > MaxQueryParams {
		return nil, fmt.Errorf("too many query parameters: %d, at most %d are accepted; send large inputs in the body", n, MaxQueryParams)
	}
	params := make([]QueryParam, 0, n)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		n, ok1 := lenientUnescape(name)
		v, ok2 := lenientUnescape(value)
		params = append(params, QueryParam{Name: n, Value: v, RawName: name, Malformed: !ok1 || !ok2})
	}
	return params, nil
}

// lenientUnescape decodes application/x-www-form-urlencoded text: '+' is
// a space and %XX a byte. A '%' not followed by two hex digits is kept as
// is and reported through ok=false. Text without '%' or '+' is returned
// without copying.
func lenientUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	ok := true
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '%':
			ok = false
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return string(b), ok
}

// countPairs counts the non-empty &-separated pairs of s.
func countPairs[T string | []byte](s T) int {
	n, inPair := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '&':
			inPair = false
		case !inPair:
			inPair = true
			n++
		}
	}
	return n
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
