package authz

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestTooLate pins the one passed-deadline rule both transports apply: a
// context that ended, however wrapped, is a fail-closed StoreUnavailable
// deny carrying the cause and the identity known so far.
func TestTooLate(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"canceled":          {context.Canceled, true},
		"deadline exceeded": {context.DeadlineExceeded, true},
		"wrapped":           {fmt.Errorf("check abandoned by the caller: %w", context.Canceled), true},
		"other":             {errors.New("connection refused"), false},
		"nil":               {nil, false},
	} {
		if got := DeadlinePassed(tc.err); got != tc.want {
			t.Errorf("%s: DeadlinePassed = %v, want %v", name, got, tc.want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	d := TooLate(ctx, Identity{AppID: "app1"})
	if d.Allow || d.Reason != ReasonStoreUnavailable || d.Message == "" || d.Identity.AppID != "app1" || !errors.Is(d.Err, context.DeadlineExceeded) {
		t.Errorf("TooLate = %+v, want a StoreUnavailable deny with the cause and identity", d)
	}
}
