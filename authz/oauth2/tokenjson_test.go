package oauth2

import (
	"testing"
	"time"
)

// A key without scopes gets a token response without a scope field, not
// "scope":"" (RFC 6749 §5.1 makes it optional).
func TestTokenResponseOmitsEmptyScope(t *testing.T) {
	fb := newFake()
	h := New(fb, WithClock(func() time.Time { return time.Unix(2000, 0) }))
	for name, tc := range map[string]struct {
		user, pass string
		scope      any // nil: the field is absent
	}{
		"no scopes":   {"oth", "oth-secret", nil},
		"with scopes": {"ro", "p+%s", "orders:read"},
	} {
		t.Run(name, func(t *testing.T) {
			r := call(t, h, "/oauth2/token", "grant_type=client_credentials", basic(tc.user, tc.pass)...)
			if r.status != 200 {
				t.Fatalf("status %d body %v", r.status, r.body)
			}
			got, present := r.body["scope"]
			if (tc.scope == nil) == present || (present && got != tc.scope) {
				t.Errorf("scope field = %v (present %v), want %v", got, present, tc.scope)
			}
		})
	}
}
