package httpauthz

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
)

// FuzzForwarded drives the parsing of everything a forward-auth proxy
// sends: the X-Forwarded-*/X-Original-* description, the X-Forwarded-For
// walk and the upstream URI. Invariants: no panic; an accepted URI is
// origin-form without control bytes and splits back into itself; the
// client address is the peer or one of the hops; the upstream URI keeps
// the path and never holds a removed pair.
func FuzzForwarded(f *testing.F) {
	f.Add("GET", "/orders?appKey=k&q=1", "api.example.com", "https", "198.51.100.1, 10.0.0.2", "10.0.0.1")
	f.Add("POST", "/a%2Fb?app%4Bey=k&&sign", "", "HTTP", "junk, 10.0.0.2", "192.0.2.1")
	f.Add("GE T", "http://x/", "h\r\nx", "ftp", "::ffff:10.0.0.3", "::1")
	f.Fuzz(func(t *testing.T, method, uri, host, proto, xff, peer string) {
		h := map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Uri": uri, "X-Forwarded-Host": host, "X-Forwarded-Proto": proto}
		o, err := ParseForwarded(func(k string) string { return h[k] }, "fallback")
		if err == nil {
			if !strings.HasPrefix(o.URI, "/") || hasCTL(o.URI) || !isToken(o.Method) {
				t.Fatalf("accepted %+v", o)
			}
			p, q := authz.SplitPath(o.URI)
			r := authz.Request{Path: p, RawQuery: q}
			if r.RequestURI() != o.URI && !(q == "" && strings.HasSuffix(o.URI, "?")) {
				t.Fatalf("split %q into %q %q", o.URI, p, q)
			}
			params, err := authz.ParseQuery(q)
			if err == nil {
				var names []string
				for _, p := range params {
					if authz.IsCredentialParam(p.Name) {
						names = append(names, p.RawName)
					}
				}
				up := UpstreamURI(o.URI, names)
				up2, upQuery := authz.SplitPath(up)
				if up2 != p {
					t.Fatalf("upstream URI %q changed the path of %q", up, o.URI)
				}
				for _, pair := range strings.Split(upQuery, "&") {
					name, _, _ := strings.Cut(pair, "=")
					for _, n := range names {
						if pair != "" && name == n {
							t.Fatalf("upstream URI %q keeps %q", up, n)
						}
					}
				}
			}
		}
		a, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		got := authz.ClientAddr(a, xff, proxies)
		if got != a.Unmap().String() && !strings.Contains(xff, strings.TrimPrefix(got, "::ffff:")) {
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("client address %q is neither the peer nor a hop", got)
			}
		}
	})
}
