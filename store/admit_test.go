package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func rate(t *testing.T, s string, burst int64) authz.RateLimit {
	t.Helper()
	r, err := authz.ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	r.Burst = burst
	return r
}

// Of 200 concurrent Admits against a limit of 50 at one instant, exactly 50
// pass, whichever limit it is; the others are told when to retry.
func TestAdmitExactUnderConcurrency(t *testing.T) {
	s, _, _ := newTestStore(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, l := range map[string]authz.Limits{
		"rate":  {Rate: rate(t, "50/h", 0)},
		"quota": {Quota: 50},
		"both":  {Rate: rate(t, "100/s", 50), Quota: 1000},
	} {
		t.Run(name, func(t *testing.T) {
			var admitted, limited atomic.Int32
			var wg sync.WaitGroup
			for range 200 {
				wg.Go(func() {
					r, err := s.Admit(context.Background(), authz.AdmitQuery{Now: now, AppID: "app-" + name, API: "orders", Limits: l})
					switch {
					case err != nil:
						t.Error(err)
					case r.Limited():
						limited.Add(1)
						if st := firstExceeded(r); st == nil || st.RetryAfter <= 0 || st.Remaining != 0 {
							t.Errorf("limited without a retry time: %+v %+v", r.Rate, r.Quota)
						}
					default:
						admitted.Add(1)
					}
				})
			}
			wg.Wait()
			if admitted.Load() != 50 || limited.Load() != 150 {
				t.Fatalf("admitted %d, limited %d; want exactly 50 and 150", admitted.Load(), limited.Load())
			}
		})
	}
}

func firstExceeded(r authz.AdmitResult) *authz.LimitState {
	for _, st := range []*authz.LimitState{r.Rate, r.Quota} {
		if st != nil && st.Exceeded {
			return st
		}
	}
	return nil
}

// GCRA with a burst: the burst passes at once, then one request per
// interval; the state reports what remains and when it is whole again.
func TestAdmitRateBurst(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := authz.Limits{Rate: rate(t, "10/s", 3)} // interval 100ms
	admit := func(at time.Duration) authz.AdmitResult {
		t.Helper()
		r, err := s.Admit(ctx, authz.AdmitQuery{Now: t0.Add(at), AppID: "a", API: "x", Limits: l})
		if err != nil {
			t.Fatal(err)
		}
		if r.Rate == nil || r.Quota != nil {
			t.Fatalf("states %+v %+v; want a rate state only", r.Rate, r.Quota)
		}
		return r
	}
	steps := []struct {
		at        time.Duration
		limited   bool
		remaining int64
		reset     time.Duration
		retry     time.Duration
	}{
		{0, false, 2, 100 * time.Millisecond, 0},
		{0, false, 1, 200 * time.Millisecond, 0},
		{0, false, 0, 300 * time.Millisecond, 0},
		{0, true, 0, 300 * time.Millisecond, 100 * time.Millisecond},
		{99 * time.Millisecond, true, 0, 201 * time.Millisecond, time.Millisecond},
		{100 * time.Millisecond, false, 0, 300 * time.Millisecond, 0},
		{time.Second, false, 2, 100 * time.Millisecond, 0}, // idle long enough: full burst again
	}
	for i, st := range steps {
		r := admit(st.at)
		if r.Limited() != st.limited || r.Rate.Remaining != st.remaining || r.Rate.Reset != st.reset || r.Rate.RetryAfter != st.retry || r.Rate.Limit != 3 {
			t.Errorf("step %d at +%v: %+v; want limited %v remaining %d reset %v retry %v limit 3", i, st.at, *r.Rate, st.limited, st.remaining, st.reset, st.retry)
		}
	}
	// The state expires once the bucket would be full again.
	ttl, err := rdb.PTTL(ctx, "appauthz:rl:{a}:x:rate").Result()
	if err != nil || ttl <= 0 || ttl > 100*time.Millisecond {
		t.Errorf("PTTL of the rate state = %v, %v; want within (0, 100ms]", ttl, err)
	}
}

// The quota counts per UTC day and starts again at midnight; its counter
// expires an hour after its day.
func TestAdmitQuotaRollover(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	late := time.Date(2025, 3, 1, 23, 59, 59, 0, time.UTC)
	l := authz.Limits{Quota: 3}
	admit := func(now time.Time) authz.AdmitResult {
		t.Helper()
		r, err := s.Admit(ctx, authz.AdmitQuery{Now: now, AppID: "a", API: "x", Limits: l})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range 3 {
		r := admit(late)
		if r.Limited() || r.Quota.Remaining != int64(2-i) || r.Quota.Reset != time.Second || r.Quota.Limit != 3 {
			t.Fatalf("request %d: %+v; want admitted, %d remaining, reset 1s", i+1, *r.Quota, 2-i)
		}
	}
	r := admit(late.Add(999 * time.Millisecond))
	if !r.Limited() || r.Quota.RetryAfter != time.Millisecond || r.Quota.Remaining != 0 {
		t.Fatalf("4th request before midnight: %+v; want limited until midnight (1ms)", *r.Quota)
	}
	ttl, err := rdb.PTTL(ctx, "appauthz:rl:{a}:x:quota:20250301").Result()
	if err != nil || ttl <= time.Hour || ttl > time.Hour+time.Second {
		t.Errorf("PTTL of the day's counter = %v, %v; want within (1h, 1h1s]", ttl, err)
	}
	midnight := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	r = admit(midnight)
	if r.Limited() || r.Quota.Remaining != 2 || r.Quota.Reset != 24*time.Hour {
		t.Fatalf("first request of the next day: %+v; want admitted with 2 remaining", *r.Quota)
	}
	// A refused request was not counted.
	if n, _ := rdb.Get(ctx, "appauthz:rl:{a}:x:quota:20250301").Int(); n != 3 {
		t.Errorf("the day's counter = %d; want 3 (refusals are not counted)", n)
	}
}

// A replay is charged nothing; a rate-limited signature is still burned,
// so a captured request that got a 429 can never pass later.
func TestAdmitNonceWithLimits(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := authz.Limits{Rate: rate(t, "2/h", 0), Quota: 100}
	admit := func(nonce string) authz.AdmitResult {
		t.Helper()
		r, err := s.Admit(ctx, authz.AdmitQuery{Now: now, AppID: "a", API: "x", Nonce: nonce, NonceTTL: time.Minute, Limits: l})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := admit("n1"); r.Replayed || r.Limited() || r.Rate.Remaining != 1 || r.Quota.Remaining != 99 {
		t.Fatalf("first: %+v %+v %+v", r, r.Rate, r.Quota)
	}
	if r := admit("n1"); !r.Replayed || r.Rate != nil || r.Quota != nil {
		t.Fatalf("replay: %+v; want Replayed and no states", r)
	}
	if r := admit("n2"); r.Replayed || r.Limited() || r.Rate.Remaining != 0 || r.Quota.Remaining != 98 {
		t.Fatalf("second (the replay must not have been charged): %+v %+v", r.Rate, r.Quota)
	}
	if r := admit("n3"); !r.Limited() || !r.Rate.Exceeded || r.Quota.Exceeded {
		t.Fatalf("third: %+v %+v; want rate exceeded", r.Rate, r.Quota)
	}
	if n, err := rdb.Exists(ctx, "appauthz:seen:{a}:n3").Result(); err != nil || n != 1 {
		t.Errorf("nonce of the limited request recorded = %d, %v; want 1", n, err)
	}
	if r := admit("n3"); !r.Replayed {
		t.Errorf("the limited request again: %+v; want Replayed", r)
	}
}

// The API's limits apply to each app on its own; apps and APIs never share
// counters.
func TestAdmitPerAppCounters(t *testing.T) {
	s, _, _ := newTestStore(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := authz.Limits{Quota: 1}
	for _, q := range []authz.AdmitQuery{{AppID: "a", API: "x"}, {AppID: "b", API: "x"}, {AppID: "a", API: "y"}} {
		q.Now, q.Limits = now, l
		for i, want := range []bool{false, true} {
			r, err := s.Admit(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if r.Limited() != want {
				t.Errorf("app %s api %s request %d: limited %v, want %v", q.AppID, q.API, i+1, r.Limited(), want)
			}
		}
	}
}

func TestAdmitRefusesBadQueries(t *testing.T) {
	s, _, _ := newTestStore(t)
	for name, q := range map[string]authz.AdmitQuery{
		"no app":       {API: "x", Limits: authz.Limits{Quota: 1}},
		"bad api":      {AppID: "a", API: "x y", Limits: authz.Limits{Quota: 1}},
		"bad limits":   {AppID: "a", API: "x", Limits: authz.Limits{Rate: authz.RateLimit{Count: 5, Period: 7 * time.Second}}},
		"no nonce ttl": {AppID: "a", Nonce: "n"},
	} {
		if _, err := s.Admit(context.Background(), q); err == nil {
			t.Errorf("%s: Admit succeeded", name)
		}
	}
	if r, err := s.Admit(context.Background(), authz.AdmitQuery{AppID: "a", API: "x"}); err != nil || r.Replayed || r.Rate != nil || r.Quota != nil {
		t.Errorf("nothing to admit: %+v, %v; want an empty answer", r, err)
	}
}
