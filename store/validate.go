package store

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/appauthz/appauthz/authz"
)

// Ids (app ids, app_keys, API ids, stages) are limited to characters that
// are safe inside a Redis key and its hash-tag braces, and never hold the
// space that separates grant-set members.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// maxClockSkew caps an API's signature window: a day is already far more
// than any clock drift, and the replay guard keeps every nonce about this
// long, so that no API, however wide its window, accepts a signature again.
const maxClockSkew = authz.MaxClockSkew

func validID(what, v string) error {
	if !idPattern.MatchString(v) {
		return fmt.Errorf("invalid %s %q: use 1 to 128 characters from A-Z a-z 0-9 . _ -", what, v)
	}
	return nil
}

// validSecret checks an imported secret or AppCode without echoing it.
func validSecret(what, v string) error {
	if len(v) < 8 || len(v) > 256 {
		return fmt.Errorf("invalid %s: it must be 8 to 256 characters long (got %d); omit it to generate one", what, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("invalid %s: use printable ASCII without spaces (character %d is not); omit it to generate one", what, i+1)
		}
	}
	return nil
}

func validName(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("app name is empty: give one with --name")
	}
	if len(v) > 256 {
		return fmt.Errorf("app name is %d bytes long: use at most 256", len(v))
	}
	// The name is sent upstream in x-appauthz-app-name and in the dynamic
	// metadata: both must be UTF-8 (a proto string) and a header value.
	if !utf8.ValidString(v) {
		return fmt.Errorf("app name %q is not valid UTF-8: give it in UTF-8", v)
	}
	for _, r := range v {
		if unicode.IsControl(r) { // C0 (CR, LF, NUL…), DEL and C1
			return fmt.Errorf("app name %q holds a control character: use printable text", v)
		}
	}
	return nil
}

func validStatus(st authz.Status) error {
	if st != authz.StatusActive && st != authz.StatusDisabled {
		return fmt.Errorf("invalid status %q: use %q or %q", st, authz.StatusActive, authz.StatusDisabled)
	}
	return nil
}

// tokenPattern is a scope, header name or HTTP method: no separators of
// our comma lists.
var tokenPattern = regexp.MustCompile(`^[!-+\--~]{1,128}$`) // printable ASCII except space and ','

// cleanList validates list items and drops duplicates, keeping order.
func cleanList(what string, xs []string, norm func(string) string) ([]string, error) {
	var out []string
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if norm != nil {
			x = norm(x)
		}
		if !tokenPattern.MatchString(x) {
			return nil, fmt.Errorf("invalid %s %q: use printable ASCII without spaces or commas", what, x)
		}
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// normalizeAPI validates an API for writing and fills the defaults, so the
// stored hash is explicit.
func normalizeAPI(a authz.API) (authz.API, error) {
	if err := validID("api id", a.ID); err != nil {
		return a, err
	}
	if len(a.Methods) == 0 {
		return a, fmt.Errorf("api %q has no auth method: give --methods with one or more of appcode, key, hmac, paramsign, oauth2, xca", a.ID)
	}
	var methods []authz.Method
	for _, m := range a.Methods {
		if !slices.Contains(authz.AllMethods, m) {
			return a, fmt.Errorf("unknown auth method %q: use one or more of appcode, key, hmac, paramsign, oauth2, xca", m)
		}
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	a.Methods = methods
	if a.AppCodeMode == "" {
		a.AppCodeMode = authz.AppCodeHeader
	}
	if _, err := authz.ParseAppCodeMode(string(a.AppCodeMode)); err != nil || string(a.AppCodeMode) != strings.ToLower(string(a.AppCodeMode)) {
		return a, fmt.Errorf("unknown appcode mode %q: use header, header-query or disabled", a.AppCodeMode)
	}
	if a.Access == "" {
		a.Access = authz.AccessAuthorized
	}
	if _, err := authz.ParseAccess(string(a.Access)); err != nil || string(a.Access) != strings.ToLower(string(a.Access)) {
		return a, fmt.Errorf("unknown access condition %q: use authenticated or authorized", a.Access)
	}
	switch {
	case a.ClockSkew == 0 && slices.Contains(a.Methods, authz.MethodXCA):
		a.ClockSkew = authz.XCADefaultClockSkew
	case a.ClockSkew == 0:
		a.ClockSkew = authz.DefaultClockSkew
	case a.ClockSkew < 0 || a.ClockSkew > maxClockSkew:
		return a, fmt.Errorf("clock skew %s is out of range: use a duration between 1s and 24h, such as 300s", a.ClockSkew)
	}
	if err := normalizeXCA(&a); err != nil {
		return a, err
	}
	var err error
	if a.Scopes, err = cleanList("scope", a.Scopes, nil); err != nil {
		return a, err
	}
	if a.MethodScopes, err = cleanMethodScopes(a.MethodScopes); err != nil {
		return a, err
	}
	if a.HMACAlgorithms, err = cleanList("hmac algorithm", a.HMACAlgorithms, strings.ToLower); err != nil {
		return a, err
	}
	for _, alg := range a.HMACAlgorithms {
		if !slices.Contains(authz.HMACAlgorithms, alg) {
			return a, fmt.Errorf("unknown hmac algorithm %q: use one or more of %s", alg, strings.Join(authz.HMACAlgorithms, ", "))
		}
	}
	if a.EnforceHeaders, err = cleanList("enforced header", a.EnforceHeaders, strings.ToLower); err != nil {
		return a, err
	}
	return normalizeRoute(a)
}

func normalizeRoute(a authz.API) (authz.API, error) {
	r := &a.Route
	r.API = a.ID
	r.Host = strings.ToLower(strings.TrimSpace(r.Host))
	if strings.ContainsAny(r.Host, " ,/{}") || len(r.Host) > 255 {
		return a, fmt.Errorf("invalid route host %q: use a host name such as api.example.com or *.example.com", r.Host)
	}
	if err := canonicalRouteHost(r.Host); err != nil {
		return a, err
	}
	if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
		return a, fmt.Errorf("invalid path prefix %q: it must start with /", r.PathPrefix)
	}
	if strings.ContainsAny(r.PathPrefix, " ?#") || len(r.PathPrefix) > 1024 {
		return a, fmt.Errorf("invalid path prefix %q: use a path without spaces, query or fragment", r.PathPrefix)
	}
	if err := canonicalPathPrefix(r.PathPrefix); err != nil {
		return a, err
	}
	var err error
	if r.Methods, err = cleanList("route method", r.Methods, strings.ToUpper); err != nil {
		return a, err
	}
	return a, nil
}

// normalizeXCA validates the xca policies; "" stays, meaning the
// default (required-signed, optional), so APIs that do not use xca keep
// their stored form.
func normalizeXCA(a *authz.API) error {
	if p, err := authz.ParseXCATimestampPolicy(string(a.XCATimestamp)); a.XCATimestamp != "" && (err != nil || p != a.XCATimestamp) {
		return fmt.Errorf("unknown xca timestamp policy %q: use required-signed, required or optional", a.XCATimestamp)
	}
	if p, err := authz.ParseXCANoncePolicy(string(a.XCANonce)); a.XCANonce != "" && (err != nil || p != a.XCANonce) {
		return fmt.Errorf("unknown xca nonce policy %q: use required or optional", a.XCANonce)
	}
	return nil
}

// Requests are routed on their normalized host and path (authz.MatchRoute),
// so a route is stored only in that form: what the operator saved is then
// exactly what is compared, and a prefix no request path can normalize to
// is refused instead of never matching.

// canonicalRouteHost refuses a (lower-cased) route host that the matcher
// would read as another, naming the form to use.
func canonicalRouteHost(h string) error {
	if h == "" || h == "*" {
		return nil
	}
	if i := strings.LastIndexByte(h, '*'); i > 0 || i == 0 && !strings.HasPrefix(h, "*.") {
		return fmt.Errorf("invalid route host %q: a wildcard is a whole first label (*.example.com) or * alone", h)
	}
	n, err := authz.NormalizeHost(h)
	if err != nil {
		return fmt.Errorf("invalid route host %q: %v", h, err)
	}
	if n != h {
		return fmt.Errorf("route host %q is not in the form requests are matched in (no port, no trailing dot): use %q", h, n)
	}
	return nil
}

// canonicalPathPrefix refuses a path prefix that is not its own normal
// form: one with escapes, dot or empty segments that normalize to another
// path (name that path instead), or one no request path normalizes to at
// all (an encoded slash, a backslash, a control character).
func canonicalPathPrefix(p string) error {
	if p == "" {
		return nil
	}
	n, err := authz.NormalizePath(p)
	if err != nil {
		return fmt.Errorf("invalid path prefix %q: no request path can match it: %v", p, err)
	}
	if n != p {
		return fmt.Errorf("path prefix %q is not in the form request paths are matched in: use %q", p, n)
	}
	// A request routes only if dropping its ';' path parameters picks the
	// same API, so a prefix holding one would not route its requests.
	if strings.IndexByte(p, ';') >= 0 {
		segs := strings.Split(p, "/")
		for i, seg := range segs {
			segs[i], _, _ = strings.Cut(seg, ";")
		}
		return fmt.Errorf("invalid path prefix %q: a ';' path parameter cannot be routed (servers that drop path parameters read it as %q): use a prefix without ';'", p, strings.Join(segs, "/"))
	}
	return nil
}
