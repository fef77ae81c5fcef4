package authz

import (
	"slices"
	"strings"
)

// MatchRoute picks the API for a request from the route table, for proxies
// that cannot name the API per route (Istio CUSTOM providers). The raw
// :authority and path are normalized first (NormalizeHost, NormalizePath),
// and so are the routes' hosts and prefixes, so every spelling of one
// resource resolves to one API; what cannot be normalized safely is an
// error wrapping ErrUnsafePath, which the caller answers with BadRequest.
//
// The best route has the longest path prefix; ties go to an exact host
// over a wildcard host over any host, then to a route that lists methods.
// A path prefix matches whole segments: "/orders" matches "/orders" and
// "/orders/7" but not "/ordersheet" (a prefix ending in "/" is taken as
// is).
func MatchRoute(routes []Route, host, method, path string) (Route, bool, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return Route{}, false, err
	}
	p, err := NormalizePath(path)
	if err != nil {
		return Route{}, false, err
	}
	rt, ok := bestRoute(routes, h, method, p)
	// Servers that honour path parameters route /admin;x=1/users (and
	// /x/..;/admin) as if the parameters were not there. Where dropping
	// them would pick another API, no answer is safe.
	if sp := stripPathParams(p); sp != p {
		sp, _ = NormalizePath(sp) // merges and dot segments only: cannot fail
		if rt2, ok2 := bestRoute(routes, h, method, sp); ok2 != ok || rt2.API != rt.API {
			return Route{}, false, unsafePath("a ';' path parameter in %q changes which API the path belongs to (%s without it): send the path without ';'", truncate(path), sp)
		}
	}
	return rt, ok, nil
}

// bestRoute matches a normalized host and path against the table.
func bestRoute(routes []Route, host, method, path string) (Route, bool) {
	var best Route
	bestScore := -1
	for _, rt := range routes {
		hs := hostScore(rt.Host, host)
		if hs < 0 {
			continue
		}
		prefix := routePrefix(rt.PathPrefix)
		if !prefixMatches(prefix, path) {
			continue
		}
		if len(rt.Methods) > 0 && !slices.ContainsFunc(rt.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
			continue
		}
		score := len(strings.TrimSuffix(prefix, "/"))*16 + hs*2
		if len(rt.Methods) > 0 {
			score++
		}
		// Equal scores are resolved by API id so the choice never depends
		// on the order Redis returned the table in.
		if score > bestScore || (score == bestScore && rt.API < best.API) {
			best, bestScore = rt, score
		}
	}
	return best, bestScore >= 0
}

// routePrefix is a route's path prefix in the canonical form requests are
// compared in. A prefix that does not normalize (which the store should
// not accept) is compared as written: no normalized path can then match
// it, so its API is reached only through context_extensions.
func routePrefix(prefix string) string {
	if prefix == "" {
		return ""
	}
	if p, err := NormalizePath(prefix); err == nil {
		return p
	}
	return prefix
}

// hostScore is 3 for an exact match, 2 for a wildcard match, 1 for a route
// without host, and -1 when the route does not match.
func hostScore(pattern, host string) int {
	if p, err := NormalizeHost(pattern); err == nil {
		pattern = p
	} else {
		pattern = asciiLower(pattern)
	}
	switch {
	case pattern == "" || pattern == "*":
		return 1
	case pattern == host:
		return 3
	case strings.HasPrefix(pattern, "*.") && strings.HasSuffix(host, pattern[1:]) && len(host) > len(pattern)-1:
		return 2
	}
	return -1
}

func prefixMatches(prefix, path string) bool {
	if prefix == "" || prefix == "/" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	if strings.HasSuffix(prefix, "/") || len(path) == len(prefix) {
		return true
	}
	return path[len(prefix)] == '/'
}
