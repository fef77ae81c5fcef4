package main

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// deadlineSeen records the deadline the decision core was given.
type deadlineSeen struct {
	at time.Time
	ok bool
}

func (d *deadlineSeen) Check(ctx context.Context, _ *authz.Request) authz.Decision {
	d.at, d.ok = ctx.Deadline()
	return authz.Decision{Reason: authz.ReasonStoreUnavailable}
}

// An HTTP-mode Check runs under --redis-timeout as a whole, as a gRPC
// Check does, and a caller's own earlier deadline still wins.
func TestHTTPModeCheckBudget(t *testing.T) {
	tests := map[string]struct {
		callerDeadline time.Duration // 0: none
		want           time.Duration
	}{
		"no caller deadline":     {0, 250 * time.Millisecond},
		"caller deadline later":  {time.Hour, 250 * time.Millisecond},
		"caller deadline sooner": {50 * time.Millisecond, 50 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			seen := &deadlineSeen{}
			b := budgeted{d: seen, budget: 250 * time.Millisecond}
			ctx := context.Background()
			if tc.callerDeadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.callerDeadline)
				defer cancel()
			}
			b.Check(ctx, &authz.Request{})
			end := time.Now()
			if !seen.ok {
				t.Fatal("the decision core got no deadline")
			}
			// The deadline was set during the call: it cannot lie beyond
			// the call's end plus the budget that applies.
			if seen.at.After(end.Add(tc.want)) {
				t.Errorf("deadline %s after the call ended, want at most %s", seen.at.Sub(end), tc.want)
			}
		})
	}
}
