package store

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// Quota rollover through the real engine and store, the engine's clock
// moved across midnight UTC: the day's quota runs out, the 429 says how
// long until midnight, and the next day starts afresh.
func TestCheckQuotaRollover(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	if err := s.CreateAPI(ctx, authz.API{ID: "q", Methods: []authz.Method{authz.MethodKey}, Access: authz.AccessAuthenticated, Limits: authz.Limits{Quota: 2}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 30, 23, 59, 58, 500_000_000, time.UTC)
	e := authz.NewEngine(s, authz.WithClock(func() time.Time { return now }))
	req := &authz.Request{Method: "GET", Path: "/", Headers: map[string]string{"x-app-key": a.AppKey}, Context: map[string]string{"api": "q"}}
	header := func(d authz.Decision, name string) string {
		for _, h := range d.ResponseHeaders {
			if h.Name == name {
				return h.Value
			}
		}
		return ""
	}
	steps := []struct {
		at                          time.Time
		reason                      authz.Reason
		remaining, reset, retryAfer string
	}{
		{now, authz.ReasonOK, "1", "2", ""},
		{now, authz.ReasonOK, "0", "2", ""},
		{now.Add(time.Second), authz.ReasonRateLimited, "0", "1", "1"},
		{time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), authz.ReasonOK, "1", "86400", ""},
	}
	for i, st := range steps {
		now = st.at
		d := e.Check(ctx, req)
		if d.Reason != st.reason || header(d, "ratelimit-limit") != "2" || header(d, "ratelimit-remaining") != st.remaining ||
			header(d, "ratelimit-reset") != st.reset || header(d, "retry-after") != st.retryAfer {
			t.Errorf("step %d at %s: %s %v; want %s remaining %s reset %s retry-after %q", i, st.at.Format(time.TimeOnly), d.Reason, d.ResponseHeaders, st.reason, st.remaining, st.reset, st.retryAfer)
		}
	}
}
