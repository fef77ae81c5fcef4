package authz

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Traffic control (the seed's "traffic control" beside authentication).
// Once a request is authenticated and authorized, the limits of its app on
// its API decide whether it may pass. Two kinds exist:
//
//   - a rate: Count requests per Period with a burst, enforced with GCRA
//     (the generic cell rate algorithm, a leaky bucket kept as one
//     timestamp per app and API);
//   - a quota: Count requests per calendar day in UTC, a plain counter that
//     starts again at 00:00 UTC.
//
// The store charges every limit of a Check, and claims its replay nonce, in
// one atomic Redis script (see Store.Admit); this file holds the model, the
// parsers the CLI shares, and how a result becomes headers or a 429.

// Rate-limit response headers: the IETF httpapi draft's RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers, the three-field form Kong and
// Envoy's ratelimit filter send) and RFC 9110's Retry-After.
const (
	HeaderRateLimitLimit     = "ratelimit-limit"
	HeaderRateLimitRemaining = "ratelimit-remaining"
	HeaderRateLimitReset     = "ratelimit-reset"
	HeaderRetryAfter         = "retry-after"
)

// Bounds of a limit. A rate's interval (Period/Count) must be at least a
// microsecond, the resolution of the store's arithmetic; a burst may span
// at most maxBurstWindow so the store's numbers stay exact.
const (
	MaxRateCount   = 1_000_000_000
	MaxQuota       = 1_000_000_000_000
	maxBurstWindow = 30 * 24 * time.Hour
)

// RateLimit is Count requests per Period, up to Burst at once.
type RateLimit struct {
	Count  int64
	Period time.Duration // one of time.Second, time.Minute, time.Hour, 24h
	Burst  int64         // 0: Count, a whole period's worth at once
}

// Limits is the traffic control of an API, or of one app on an API (which
// then replaces the API's limits whole for that app). A zero field is no
// limit of that kind; zero Limits is "unlimited".
type Limits struct {
	Rate  RateLimit // Rate.Count 0: no rate limit
	Quota int64     // requests per UTC calendar day; 0: no quota
}

// IsZero reports whether l limits nothing.
func (l Limits) IsZero() bool { return l.Rate.Count == 0 && l.Quota == 0 }

// EffectiveLimits is what applies to one app on api: the app's own limits
// when it has some (override non-nil), otherwise the API's. The API's
// limits apply to each app separately, never to all apps together.
func EffectiveLimits(api *API, override *Limits) Limits {
	if override != nil {
		return *override
	}
	if api == nil {
		return Limits{}
	}
	return api.Limits
}

// EffectiveBurst is Burst, or Count when no burst was set.
func (r RateLimit) EffectiveBurst() int64 {
	if r.Burst > 0 {
		return r.Burst
	}
	return r.Count
}

// Interval is GCRA's emission interval, Period/Count rounded up to the
// microsecond: rounding up means the long-run rate never exceeds the one
// configured (it is at most 1µs per request slower).
func (r RateLimit) Interval() time.Duration {
	if r.Count <= 0 {
		return 0
	}
	us := r.Period.Microseconds()
	return time.Duration((us+r.Count-1)/r.Count) * time.Microsecond
}

// String is the canonical "100/s" form, as the CLI and the store write it.
func (r RateLimit) String() string {
	if r.Count == 0 {
		return ""
	}
	return strconv.FormatInt(r.Count, 10) + "/" + periodUnit(r.Period)
}

// Validate reports a rate or burst out of bounds, saying how to fix it.
func (r RateLimit) Validate() error {
	if r.Count == 0 {
		if r.Burst != 0 {
			return fmt.Errorf("a burst needs a rate: give --rate too, such as --rate 100/s --burst %d", r.Burst)
		}
		return nil
	}
	if periodUnit(r.Period) == "" {
		return fmt.Errorf("rate period %s is not supported: use per second, minute, hour or day (100/s, 6000/m, 1000/h, 10000/d)", r.Period)
	}
	if r.Count < 0 || r.Count > MaxRateCount || r.Period.Microseconds() < r.Count {
		return fmt.Errorf("rate %d/%s is out of range: use 1 to %d requests and at most one per microsecond", r.Count, periodUnit(r.Period), min(int64(MaxRateCount), r.Period.Microseconds()))
	}
	if r.Burst < 0 {
		return fmt.Errorf("burst %d is negative: give at least 1, or leave it out for a period's worth (%d)", r.Burst, r.Count)
	}
	if b := r.EffectiveBurst(); time.Duration(b) > maxBurstWindow/r.Interval() {
		return fmt.Errorf("burst %d at %s spans more than 30 days of traffic: give a smaller --burst", b, r)
	}
	return nil
}

// Validate reports limits out of bounds.
func (l Limits) Validate() error {
	if err := l.Rate.Validate(); err != nil {
		return err
	}
	if l.Quota < 0 || l.Quota > MaxQuota {
		return fmt.Errorf("quota %d is out of range: use 1 to %d requests per day", l.Quota, int64(MaxQuota))
	}
	return nil
}

// periods are the units a rate may be given in, canonical name first.
var periods = []struct {
	d     time.Duration
	names []string
}{
	{time.Second, []string{"s", "sec", "second"}},
	{time.Minute, []string{"m", "min", "minute"}},
	{time.Hour, []string{"h", "hour"}},
	{24 * time.Hour, []string{"d", "day"}},
}

func periodUnit(d time.Duration) string {
	for _, p := range periods {
		if p.d == d {
			return p.names[0]
		}
	}
	return ""
}

// ParseRate parses "COUNT/UNIT" with UNIT one of s, m, h, d (or sec,
// second, min, minute, hour, day): "100/s", "6000/m".
func ParseRate(s string) (RateLimit, error) {
	count, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
	if !ok || err != nil || n <= 0 {
		return RateLimit{}, fmt.Errorf("invalid rate %q: use COUNT/UNIT with a positive count and unit s, m, h or d, such as 100/s or 6000/m", s)
	}
	unit = strings.ToLower(strings.TrimSpace(unit))
	for _, p := range periods {
		for _, name := range p.names {
			if unit == name {
				r := RateLimit{Count: n, Period: p.d}
				return r, r.Validate()
			}
		}
	}
	return RateLimit{}, fmt.Errorf("invalid rate %q: the unit must be s, m, h or d, such as 100/s or 6000/m", s)
}

// ParseQuota parses "COUNT/day" (or COUNT/d): a quota counts requests per
// calendar day in UTC.
func ParseQuota(s string) (int64, error) {
	count, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid quota %q: use COUNT/day with a positive count, such as 10000/day", s)
	}
	if u := strings.ToLower(strings.TrimSpace(unit)); u != "day" && u != "d" {
		return 0, fmt.Errorf("invalid quota %q: quotas count per calendar day (UTC), so write COUNT/day, such as 10000/day; for shorter windows use a rate", s)
	}
	if n > MaxQuota {
		return 0, fmt.Errorf("quota %d is out of range: use at most %d requests per day", n, int64(MaxQuota))
	}
	return n, nil
}

// FormatQuota is the canonical "10000/day" form; "" for no quota.
func FormatQuota(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10) + "/day"
}

// QuotaDay names the UTC calendar day of now ("20250131", part of the
// quota counter's key) and when it ends.
func QuotaDay(now time.Time) (day string, end time.Time) {
	u := now.UTC()
	start := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return start.Format("20060102"), start.AddDate(0, 0, 1)
}

// LimitState is where one limit stands after a Check, as the RateLimit
// headers report it.
type LimitState struct {
	Limit     int64         // the burst of a rate; the count of a quota
	Remaining int64         // requests that would still pass now
	Reset     time.Duration // until the limit is whole again (a rate) or the quota day ends
	// Exceeded is set when this limit refused the request; RetryAfter is
	// then how long until one request would fit.
	Exceeded   bool
	RetryAfter time.Duration
}

// limitHeaders are the RateLimit fields of the state closest to running out
// (the draft asks for the policy with the least remaining), plus
// Retry-After when the request was refused.
func limitHeaders(states ...*LimitState) []HeaderValue {
	var pick *LimitState
	for _, s := range states {
		switch {
		case s == nil:
		case pick == nil,
			s.Exceeded && !pick.Exceeded,
			s.Exceeded == pick.Exceeded && s.Exceeded && s.RetryAfter > pick.RetryAfter,
			s.Exceeded == pick.Exceeded && !s.Exceeded && s.Remaining < pick.Remaining:
			pick = s
		}
	}
	if pick == nil {
		return nil
	}
	remaining := max(pick.Remaining, 0)
	if pick.Exceeded {
		remaining = 0
	}
	hs := []HeaderValue{
		{HeaderRateLimitLimit, strconv.FormatInt(pick.Limit, 10)},
		{HeaderRateLimitRemaining, strconv.FormatInt(remaining, 10)},
		{HeaderRateLimitReset, strconv.FormatInt(ceilSeconds(pick.Reset), 10)},
	}
	if pick.Exceeded {
		// Retry-After is whole seconds (RFC 9110 §10.2.3), at least 1 so a
		// client never retries in a busy loop.
		hs = append(hs, HeaderValue{HeaderRetryAfter, strconv.FormatInt(max(ceilSeconds(pick.RetryAfter), 1), 10)})
	}
	return hs
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
