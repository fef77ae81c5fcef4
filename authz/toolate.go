package authz

import (
	"context"
	"errors"
)

// A Check runs under its caller's context. Once that context has ended
// (the proxy gave up, or the Check's deadline passed) nothing decided for
// it stands: every transport answers TooLate, so a late allow is never
// sent. This file is the one home of that rule.

// DeadlinePassed reports whether err comes from a context that ended:
// canceled, or its deadline exceeded.
func DeadlinePassed(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// TooLate is the deny for a Check whose context ctx ended while it was
// decided: whatever the core said, the answer is "could not decide in
// time" (fail closed). id is the identity known so far, for the log;
// ctx.Err() travels in Decision.Err as the cause.
func TooLate(ctx context.Context, id Identity) Decision {
	return Decision{
		Reason:   ReasonStoreUnavailable,
		Message:  "the check did not finish in time; retry later",
		Identity: id,
		Err:      ctx.Err(),
	}
}
