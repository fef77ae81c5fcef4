package oauth2

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// TestTokenTTLExtremeKeyExpiry issues tokens for keys whose expiry is
// centuries away in either direction, where ExpiresAt.Sub(now) saturates:
// a far-future expiry gives the full ttl, a far-past one no token.
func TestTokenTTLExtremeKeyExpiry(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		expires time.Time
		ttl     time.Duration // 0: refused
	}{
		"year 9999":                {time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), DefaultTokenTTL},
		"293 years ahead":          {now.AddDate(293, 0, 0), DefaultTokenTTL},
		"in 90s":                   {now.Add(90 * time.Second), 90 * time.Second},
		"in 90.9s (whole seconds)": {now.Add(90*time.Second + 900*time.Millisecond), 90 * time.Second},
		"in 0.5s":                  {now.Add(500 * time.Millisecond), 0},
		"now":                      {now, 0},
		"293 years ago":            {now.AddDate(-293, 0, 0), 0},
		"year 1, one second in":    {time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := New(newFake(), WithClock(func() time.Time { return now }))
			cl := &Client{AppID: "shop", KeyID: "kid_k", KeyHash: "k", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(tc.expires)}
			resp, e := h.issue(context.Background(), cl, nil)
			if tc.ttl == 0 {
				if e == nil {
					t.Fatalf("issued a token for %s with expires_in %d, want refused", tc.expires, resp.ExpiresIn)
				}
				return
			}
			if e != nil || resp.ExpiresIn != int64(tc.ttl/time.Second) {
				t.Fatalf("expires_in %d (error %v), want %d", resp.ExpiresIn, e, int64(tc.ttl/time.Second))
			}
		})
	}
}
