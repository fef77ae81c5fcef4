package authz

import (
	"reflect"
	"testing"
)

// FuzzParseLimitSpecs feeds operator-typed limit and scope specs to their
// parsers: no panic, and whatever parses is valid and survives a round
// trip through its canonical form (what authzctl stores and shows).
func FuzzParseLimitSpecs(f *testing.F) {
	for _, s := range []string{"100/s", " 6000 / M ", "1/d", "10000/day", "0/s", "-1/s", "9223372036854775807/s",
		"GET,HEAD=orders:read;POST,PUT,DELETE=orders:write orders:audit", "get=a=b", ";;", "GET=", "=x", "G3T=x",
		"GET,HEAD=orders:read;*=orders:write", "*=a;*=b", "G*T=x", "**=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRate(s); err == nil {
			if r.Count <= 0 || r.Validate() != nil {
				t.Fatalf("ParseRate(%q) = %+v: accepted an invalid rate", s, r)
			}
			back, err := ParseRate(r.String())
			if err != nil || back != r {
				t.Fatalf("rate %q → %q → %+v, %v: no round trip", s, r.String(), back, err)
			}
		}
		if q, err := ParseQuota(s); err == nil {
			if q <= 0 || q > MaxQuota {
				t.Fatalf("ParseQuota(%q) = %d: out of range", s, q)
			}
			if back, err := ParseQuota(FormatQuota(q)); err != nil || back != q {
				t.Fatalf("quota %q → %q → %d, %v: no round trip", s, FormatQuota(q), back, err)
			}
		}
		if ms, err := ParseMethodScopes(s); err == nil && ms != nil {
			for m, scopes := range ms {
				if !ValidScopeMethod(m) {
					t.Fatalf("ParseMethodScopes(%q): accepted method %q", s, m)
				}
				for _, sc := range scopes {
					if !ValidScope(sc) {
						t.Fatalf("ParseMethodScopes(%q): method %s got invalid scope %q", s, m, sc)
					}
				}
			}
			text := FormatMethodScopes(ms)
			back, err := ParseMethodScopes(text)
			if err != nil || !reflect.DeepEqual(back, ms) {
				t.Fatalf("method scopes %q → %q → %v, %v: want %v", s, text, back, err, ms)
			}
		}
	})
}
