package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// admitLua claims a replay nonce and charges an app's limits on an API
// atomically (admit.lua says how). Redis keeps the compiled script by SHA;
// Run sends EVALSHA and falls back to EVAL only when Redis does not know it
// yet (first call, or after a restart or SCRIPT FLUSH).
//
//go:embed admit.lua
var admitSource string

var admitScript = redis.NewScript(admitSource)

// Answers of admit.lua (first element of its reply).
const (
	admitOK       = 0
	admitReplayed = 1
	admitLimited  = 2
)

// quotaKeyGrace keeps a day's quota counter an hour past the end of its
// day, so an authzd whose clock lags a little still finds it.
const quotaKeyGrace = time.Hour

// Admit is the final round trip of an allowed Check: one script that
// claims the replay nonce (SET NX semantics: of many concurrent claims of
// one nonce exactly one is fresh) and charges the rate (GCRA) and the daily
// quota of q.AppID on q.API. A replay is charged nothing; an exceeded limit
// charges nothing but still records the nonce. Every key of one Check
// carries the app id as its hash tag, so the script runs on one Redis
// Cluster slot.
func (s *Store) Admit(ctx context.Context, q authz.AdmitQuery) (authz.AdmitResult, error) {
	if q.Nonce == "" && q.Limits.IsZero() {
		return authz.AdmitResult{}, nil
	}
	if q.Nonce != "" && q.NonceTTL < time.Millisecond {
		return authz.AdmitResult{}, fmt.Errorf("store: admit: nonce ttl %s is below 1ms: a replay guard needs a window", q.NonceTTL)
	}
	if err := validID("app id", q.AppID); err != nil {
		return authz.AdmitResult{}, fmt.Errorf("store: admit: %w", err)
	}
	if err := validID("api id", q.API); err != nil && !q.Limits.IsZero() {
		return authz.AdmitResult{}, fmt.Errorf("store: admit: %w", err)
	}
	if err := q.Limits.Validate(); err != nil {
		return authz.AdmitResult{}, fmt.Errorf("store: admit: limits of app %q on api %q: %w", q.AppID, q.API, err)
	}
	now := q.Now
	if now.IsZero() {
		now = s.now()
	}
	day, dayEnd := authz.QuotaDay(now)
	rate := q.Limits.Rate
	var nonceTTL, quotaTTL int64
	if q.Nonce != "" {
		nonceTTL = q.NonceTTL.Milliseconds()
	}
	if q.Limits.Quota > 0 {
		quotaTTL = (dayEnd.Sub(now) + quotaKeyGrace).Milliseconds()
	}
	keys := []string{
		s.keys.seen(q.AppID, q.Nonce),
		s.keys.rate(q.AppID, q.API),
		s.keys.quota(q.AppID, q.API, day),
	}
	args := []any{
		now.UnixMicro(),
		nonceTTL,
		rate.Interval().Microseconds(),
		rate.EffectiveBurst(),
		q.Limits.Quota,
		quotaTTL,
	}

	ctx, cancel := s.bound(ctx)
	defer cancel()
	reply, err := admitScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return authz.AdmitResult{}, fmt.Errorf("store: admit: %w", err)
	}
	if len(reply) != 5 && !(len(reply) == 1 && reply[0] == admitReplayed) {
		return authz.AdmitResult{}, errors.New("store: admit: the script answered " + strconv.Itoa(len(reply)) + " values: is an older admit.lua cached under the same SHA?")
	}
	return admitResult(reply, q.Limits, dayEnd.Sub(now)), nil
}

// admitResult reads admit.lua's reply {status, rate remaining, rate reset
// µs, rate retry µs, quota used}.
func admitResult(reply []int64, l authz.Limits, untilMidnight time.Duration) authz.AdmitResult {
	if reply[0] == admitReplayed {
		return authz.AdmitResult{Replayed: true}
	}
	limited := reply[0] == admitLimited
	var res authz.AdmitResult
	if l.Rate.Count > 0 {
		res.Rate = &authz.LimitState{
			Limit:      l.Rate.EffectiveBurst(),
			Remaining:  reply[1],
			Reset:      time.Duration(reply[2]) * time.Microsecond,
			Exceeded:   limited && reply[3] > 0,
			RetryAfter: time.Duration(reply[3]) * time.Microsecond,
		}
	}
	if l.Quota > 0 {
		used := reply[4]
		res.Quota = &authz.LimitState{
			Limit:     l.Quota,
			Remaining: max(l.Quota-used, 0),
			Reset:     untilMidnight,
			Exceeded:  limited && used >= l.Quota,
		}
		if res.Quota.Exceeded {
			res.Quota.RetryAfter = untilMidnight
		}
	}
	return res
}

// LoadScripts loads the Lua scripts into Redis so that the first Check
// does not pay EVALSHA's NOSCRIPT fallback. It is optional: scripts load
// themselves on first use.
func (s *Store) LoadScripts(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := admitScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("store: load scripts: %w", err)
	}
	return nil
}
