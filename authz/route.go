package authz

import (
	"net"
	"slices"
	"strings"
)

// MatchRoute picks the API for a request from the route table, for proxies
// that cannot name the API per route (Istio CUSTOM providers). The best
// route has the longest path prefix; ties go to an exact host over a
// wildcard host over any host, then to a route that lists methods. A path
// prefix matches whole segments: "/orders" matches "/orders" and
// "/orders/7" but not "/ordersheet" (a prefix ending in "/" is taken as is).
func MatchRoute(routes []Route, host, method, path string) (Route, bool) {
	host = normalizeHost(host)
	var best Route
	bestScore := -1
	for _, rt := range routes {
		hs := hostScore(rt.Host, host)
		if hs < 0 || !prefixMatches(rt.PathPrefix, path) {
			continue
		}
		if len(rt.Methods) > 0 && !slices.ContainsFunc(rt.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
			continue
		}
		score := len(strings.TrimSuffix(rt.PathPrefix, "/"))*16 + hs*2
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

// hostScore is 3 for an exact match, 2 for a wildcard match, 1 for a route
// without host, and -1 when the route does not match.
func hostScore(pattern, host string) int {
	pattern = normalizeHost(pattern)
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

func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if hp, _, err := net.SplitHostPort(h); err == nil {
		return hp
	}
	return h
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
