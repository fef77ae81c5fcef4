package authz

import (
	"net/netip"
	"testing"
)

// The walk both the OAuth2 endpoint and the HTTP authorization mode name
// the client with.
func TestClientAddr(t *testing.T) {
	trusted := TrustedProxies{netip.MustParsePrefix("10.0.0.0/8")}
	cases := map[string]struct {
		peer, xff, want string
	}{
		"untrusted peer, XFF ignored":   {"192.0.2.9", "198.51.100.1", "192.0.2.9"},
		"trusted proxy":                 {"10.1.2.3", "198.51.100.1", "198.51.100.1"},
		"rightmost untrusted hop":       {"10.1.2.3", "203.0.113.5, 198.51.100.1, 10.0.0.9", "198.51.100.1"},
		"trusted, no XFF":               {"10.1.2.3", "", "10.1.2.3"},
		"unparsable hop stops the walk": {"10.1.2.3", "198.51.100.1, junk", "10.1.2.3"},
		"mapped v4":                     {"::ffff:10.1.2.3", "::ffff:198.51.100.1", "198.51.100.1"},
		"all trusted":                   {"10.1.2.3", "10.0.0.1,10.0.0.2", "10.0.0.1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ClientAddr(netip.MustParseAddr(tc.peer), tc.xff, trusted); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
	if got := ClientAddr(netip.Addr{}, "1.2.3.4", trusted); got != "" {
		t.Errorf("invalid peer: %q", got)
	}
}

func TestPeerAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"10.1.2.3:443": "10.1.2.3", "[::ffff:10.1.2.3]:80": "10.1.2.3", "192.0.2.1": "192.0.2.1", "junk": "",
	} {
		a, ok := PeerAddr(remote)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("PeerAddr(%q) = %q, %v; want %q", remote, a, ok, want)
		}
	}
}
