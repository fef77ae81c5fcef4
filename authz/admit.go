package authz

import "context"

// WithRateLimitFailOpen lets an authenticated request pass without its
// traffic limits when the store fails while charging them (Redis down
// after the credentials were read, or a cache answered them). report is
// called for each such request so the daemon can log and count it.
//
// Authentication is never skipped, and the replay guard still fails
// closed: a request with a nonce to claim is denied StoreUnavailable,
// since letting it through would let a captured signature be replayed.
// The default (no option) is to fail closed.
func WithRateLimitFailOpen(report func(ctx context.Context, id Identity, err error)) EngineOption {
	return func(e *Engine) {
		if report == nil {
			report = func(context.Context, Identity, error) {}
		}
		e.limitsFailOpen = report
	}
}

// admit is the last step of an allowed Check: one Store.Admit that claims
// the signature's nonce and charges the app's limits on the API. A Check
// with neither costs no round trip.
func (e *Engine) admit(ctx context.Context, c *attempt, cr *credential, d Decision) Decision {
	aq := AdmitQuery{
		Now:    c.now,
		AppID:  d.Identity.AppID,
		API:    c.api.ID,
		Limits: EffectiveLimits(c.api, c.princ.Limits[d.Identity.AppID]),
	}
	if cr.nonce != "" && (c.api.ReplayProtection || cr.nonceAlways) {
		aq.Nonce, aq.NonceTTL = cr.nonce, cr.sig.replayTTL(c.now, nonceSkew(c.lookup.MaxClockSkew, c.api))
	}
	if aq.Nonce == "" && aq.Limits.IsZero() {
		return d
	}
	ar, err := e.store.Admit(ctx, aq)
	if err != nil {
		if e.limitsFailOpen != nil && aq.Nonce == "" {
			e.limitsFailOpen(ctx, d.Identity, err)
			return d
		}
		return storeDown(err)
	}
	return c.admitted(d, ar)
}

// admitted applies an AdmitResult to the allow decision d: a replay or an
// exceeded limit turns it into a deny, otherwise the RateLimit headers go
// onto the upstream's response.
func (c *attempt) admitted(d Decision, ar AdmitResult) Decision {
	if ar.Replayed {
		return c.denyFor(ReasonReplayedRequest, "", d.Identity)
	}
	hs := limitHeaders(ar.Rate, ar.Quota)
	if ar.Limited() {
		msg := "rate limit exceeded; retry after the time in retry-after"
		if ar.Quota != nil && ar.Quota.Exceeded && (ar.Rate == nil || !ar.Rate.Exceeded) {
			msg = "daily quota exhausted; it starts again at 00:00 UTC (see retry-after)"
		}
		den := c.denyFor(ReasonRateLimited, msg, d.Identity)
		den.ResponseHeaders = append(den.ResponseHeaders, hs...)
		return den
	}
	d.ResponseHeaders = append(d.ResponseHeaders, hs...)
	return d
}
