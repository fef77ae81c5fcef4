package authz

import (
	"net"
	"net/netip"
	"strings"
)

// TrustedProxies are the proxies (--trusted-proxies) whose forwarding
// headers are believed: X-Forwarded-For for the client address, and in the
// HTTP authorization mode the description of the original request.
type TrustedProxies []netip.Prefix

// Contains reports whether a is a trusted proxy.
func (t TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerAddr parses an http.Request.RemoteAddr ("ip:port", or a bare ip).
func PeerAddr(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// ClientAddr is the address of the client a request came from: the peer,
// or, when the peer is a trusted proxy, the rightmost X-Forwarded-For hop
// that is not one (the leftmost hops are whatever the client wrote). A hop
// that does not parse stops the walk at the last address that did. xff is
// every X-Forwarded-For value joined with ","; "" for an invalid peer.
//
// The OAuth2 endpoint's throttling and the HTTP authorization mode both
// name the client this way, so one proxy list means the same to both.
func ClientAddr(peer netip.Addr, xff string, t TrustedProxies) string {
	if !peer.IsValid() {
		return ""
	}
	peer = peer.Unmap()
	if !t.Contains(peer) {
		return peer.String()
	}
	for xff != "" {
		i := strings.LastIndexByte(xff, ',')
		hop := strings.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		a, err := netip.ParseAddr(hop)
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !t.Contains(peer) {
			break
		}
	}
	return peer.String()
}
