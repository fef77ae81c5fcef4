package authz

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		raw, want string // want "" = refused
	}{
		{"", "/"},
		{"/", "/"},
		{"/admin/users", "/admin/users"},
		{"/admin/users/", "/admin/users/"},
		{"//admin//users", "/admin/users"},
		{"///", "/"},
		{"/admin//", "/admin/"},
		{"/./admin", "/admin"},
		{"/x/../admin/users", "/admin/users"},
		{"/../../admin", "/admin"},
		{"/admin/.", "/admin/"},
		{"/admin/x/..", "/admin/"},
		{"/admin/..", "/"},
		{"/%2e/admin/%2E%2e/admin2", "/admin2"},
		{"/.%2e/admin", "/admin"},
		{"/.../admin", "/.../admin"},
		{"/%61dmin/%7Euser", "/admin/~user"},
		{"/a%3Ab%40c%3d", "/a:b@c="},
		{"/caf%c3%a9/caf\xc3\xa9", "/caf%C3%A9/caf%C3%A9"},
		{"/a%20b/a b", "/a%20b/a%20b"},
		{"/a%3fb/a%23b", "/a%3Fb/a%23b"},
		{"/100%25", "/100%25"},
		{"/admin;x=1/users", "/admin;x=1/users"},
		{"/a%3Bb", "/a;b"},
		{"/a+b", "/a+b"},
		// Refused: upstreams disagree on these.
		{"/admin%2Fusers", ""},
		{"/admin%2fusers", ""},
		{`/admin\users`, ""},
		{"/admin%5Cusers", ""},
		{"/admin%5cusers", ""},
		{"/a%zz", ""},
		{"/a%4", ""},
		{"/a%", ""},
		{"/%252e%252e/admin", ""},
		{"/%252F", ""},
		{"/%25%34%31", ""},
		{"/a%00b", ""},
		{"/a%0Ab", ""},
		{"/a\x7fb", ""},
		{"admin", ""},
		{"*", ""},
	}
	for _, tc := range tests {
		got, err := NormalizePath(tc.raw)
		switch {
		case tc.want == "":
			if err == nil || !errors.Is(err, ErrUnsafePath) {
				t.Errorf("NormalizePath(%q) = %q, %v; want refused with ErrUnsafePath", tc.raw, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
		if err == nil {
			if again, err2 := NormalizePath(got); err2 != nil || again != got {
				t.Errorf("NormalizePath(%q) = %q is not a fixed point: %q, %v", tc.raw, got, again, err2)
			}
		}
	}
}

// TestNormalizePathKeepsNormalPaths: a path that is already normal (what
// every signing SDK sends, and what Envoy forwards after its own
// normalization) is returned as is and costs no allocation.
func TestNormalizePathKeepsNormalPaths(t *testing.T) {
	for _, p := range []string{"/", "/orders", "/orders/7", "/static/", "/v1/users/42/avatar.png",
		"/a-b_c.d~e", "/search:all", "/x/@me", "/files/a;b", "/p/'q'(1)*!$&+,="} {
		if got, err := NormalizePath(p); err != nil || got != p {
			t.Errorf("NormalizePath(%q) = %q, %v; want it unchanged", p, got, err)
		}
		if n := testing.AllocsPerRun(10, func() { NormalizePath(p) }); n != 0 {
			t.Errorf("NormalizePath(%q) allocates %v times", p, n)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		raw, want string // want "" with bad = refused
		bad       bool
	}{
		{"", "", false},
		{"api.example.com", "api.example.com", false},
		{"API.Example.COM", "api.example.com", false},
		{"api.example.com.", "api.example.com", false},
		{"api.example.com:80", "api.example.com", false},
		{"API.example.com.:443", "api.example.com", false},
		{"api.example.com:8443", "api.example.com", false},
		{" api.example.com ", "api.example.com", false},
		{"[::1]:8080", "[::1]", false},
		{"[::1]", "[::1]", false},
		{"[FE80::1]", "[fe80::1]", false},
		{"::1", "::1", false},
		{"*.example.com", "*.example.com", false},
		{"api.example.com..", "", true},
		{".api.example.com", "", true},
		{"api..example.com", "", true},
		{"api.example.com:8x", "", true},
		{"[::1", "", true},
		{"[::1]x", "", true},
	}
	for _, tc := range tests {
		got, err := NormalizeHost(tc.raw)
		if tc.bad {
			if !errors.Is(err, ErrUnsafePath) {
				t.Errorf("NormalizeHost(%q) = %q, %v; want refused", tc.raw, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

// fuzzRoutes is the table FuzzNormalizePath resolves against: a protected
// prefix beside a catch-all, nested and sibling prefixes, and prefixes
// with characters an upstream decodes.
var fuzzRoutes = []Route{
	{API: "public", PathPrefix: "/"},
	{API: "admin", PathPrefix: "/admin"},
	{API: "admin-users", PathPrefix: "/admin/users"},
	{API: "pub", PathPrefix: "/pub/"},
	{API: "colon", PathPrefix: "/a:b"},
	{API: "tilde", PathPrefix: "/~u/x"},
}

// FuzzNormalizePath: normalization is idempotent, a path matches the same
// API as its normal form, and whenever authzd routes a path, a server that
// fully decodes its path (with or without dropping ";" path parameters)
// would serve it under the same API.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/admin/users", "//admin", "/x/../admin", "/%61dmin", "/admin%2Fx", "/admin;x=1/users",
		"/x/..;/admin", "/%2e%2e/admin", "/a%3Ab", "/%7eu/x", `/admin\x`, "/%252e", "/pub", "/pub/", "/admin/."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := NormalizePath(raw)
		if err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v does not wrap ErrUnsafePath", err)
			}
			return
		}
		if n2, err := NormalizePath(n); err != nil || n2 != n {
			t.Fatalf("not idempotent: %q → %q → %q, %v", raw, n, n2, err)
		}
		rt, ok, err := MatchRoute(fuzzRoutes, "h", "GET", raw)
		if err != nil {
			return // refused: nothing routed
		}
		rtN, okN, errN := MatchRoute(fuzzRoutes, "h", "GET", n)
		if errN != nil || okN != ok || rtN.API != rt.API {
			t.Fatalf("%q matched %q but its normal form %q matched %q (%v)", raw, rt.API, n, rtN.API, errN)
		}
		for _, dropParams := range []bool{false, true} {
			view, ok := decodingServerView(raw, dropParams)
			if !ok {
				t.Fatalf("%q was routed to %q, but a decoding server cannot resolve it", raw, rt.API)
			}
			if want, _ := bestRoute(fuzzRoutes, "h", "GET", view); want.API != rt.API {
				t.Fatalf("%q routed to %q, but a decoding server (drop ;params %v) reads %q, which is %q", raw, rt.API, dropParams, view, want.API)
			}
		}
	})
}

// decodingServerView is how a typical upstream reads a raw path:
// optionally drop each segment's ";" parameters (Tomcat), decode every
// escape, then merge slashes and resolve dot segments. ok is false when
// the decoded path has a separator that was not one on the wire.
func decodingServerView(raw string, dropParams bool) (string, bool) {
	if raw == "" {
		raw = "/"
	}
	var out []string
	segs := strings.Split(raw[1:], "/")
	trailing := false
	for i, seg := range segs {
		if j := strings.IndexByte(seg, ';'); dropParams && j >= 0 {
			seg = seg[:j]
		}
		dec, ok := lenientUnescape(strings.ReplaceAll(seg, "+", "%2B"))
		if !ok || strings.ContainsAny(dec, `/\`) {
			return "", false
		}
		last := i == len(segs)-1
		switch dec {
		case "", ".":
			trailing = last && len(out) > 0
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last && len(out) > 0
		default:
			out = append(out, dec)
			trailing = false
		}
	}
	p := "/" + strings.Join(out, "/")
	if trailing {
		p += "/"
	}
	return p, true
}
