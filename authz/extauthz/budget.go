package extauthz

import (
	"context"
	"time"
)

// Margins kept between the proxy's deadline and authzd's own, so the
// answer (a StoreUnavailable deny with x-appauthz-error) reaches the proxy
// before it gives up and sends a bare 503: a tenth of the time left, at
// least minDeadlineMargin (scheduling, gRPC framing, the network back) and
// at most maxDeadlineMargin.
const (
	minDeadlineMargin = 5 * time.Millisecond
	maxDeadlineMargin = 50 * time.Millisecond
)

// checkBudget is the context one Check runs under: one budget for all of
// its store round trips, so a hung Redis costs a Check at most the budget
// and not the sum of per-call timeouts. The budget is the smaller of
// limit (authzd's --redis-timeout; 0 for none) and the deadline the proxy
// sent (gRPC's grpc-timeout; Envoy sends its ext_authz timeout) less a
// margin.
func checkBudget(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	budget := limit
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		left -= min(max(left/10, minDeadlineMargin), maxDeadlineMargin)
		// A deadline too close for any margin: leave it to the proxy's
		// own (the "too late" deny).
		if left > 0 && (budget <= 0 || left < budget) {
			budget = left
		}
	}
	if budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, budget)
}
