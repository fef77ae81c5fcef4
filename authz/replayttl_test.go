package authz

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

func TestReplayTTL(t *testing.T) {
	now := testNow
	longest := 2*MaxClockSkew + replayMargin
	tests := map[string]struct {
		signedAt time.Time
		maxSkew  time.Duration
		want     time.Duration
	}{
		"signed now":                  {now, 0, MaxClockSkew + replayMargin},
		"signed 1s ago":               {now.Add(-time.Second), 0, MaxClockSkew - time.Second + replayMargin},
		"signed 1h ahead":             {now.Add(time.Hour), 0, MaxClockSkew + time.Hour + replayMargin},
		"signed the maximum ago":      {now.Add(-MaxClockSkew), 0, replayMargin},
		"signed the maximum ahead":    {now.Add(MaxClockSkew), 0, longest},
		"outside every window (past)": {now.Add(-MaxClockSkew - 1), 0, longest},
		"year 9999":                   {time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0, longest},
		"zero time":                   {time.Time{}, 0, longest},

		// The widest window of the APIs now configured bounds the TTL.
		"small max skew, signed now":     {now, 2 * time.Second, 2*time.Second + replayMargin},
		"small max skew, signed 1s ago":  {now.Add(-time.Second), 2 * time.Second, time.Second + replayMargin},
		"small max skew, 2s ahead":       {now.Add(2 * time.Second), 2 * time.Second, 4*time.Second + replayMargin},
		"small max skew, outside it":     {now.Add(-time.Hour), 2 * time.Second, 4*time.Second + replayMargin},
		"default 300s, signed 10s ago":   {now.Add(-10 * time.Second), DefaultClockSkew, DefaultClockSkew - 10*time.Second + replayMargin},
		"large max skew, signed now":     {now, time.Hour, time.Hour + replayMargin},
		"large max skew, 30m ago":        {now.Add(-30 * time.Minute), time.Hour, 30*time.Minute + replayMargin},
		"large max skew, zero time":      {time.Time{}, time.Hour, 2*time.Hour + replayMargin},
		"max skew at the cap":            {now, MaxClockSkew, MaxClockSkew + replayMargin},
		"max skew over the cap (capped)": {now, 48 * time.Hour, MaxClockSkew + replayMargin},
		"negative max skew (unknown)":    {now, -time.Second, MaxClockSkew + replayMargin},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := replayTTL(tc.signedAt, now, tc.maxSkew); got != tc.want {
				t.Fatalf("replayTTL = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNonceSkew(t *testing.T) {
	short := &API{ClockSkew: 2 * time.Second}
	long := &API{ClockSkew: time.Hour}
	for name, tc := range map[string]struct {
		reported time.Duration
		api      *API
		want     time.Duration
	}{
		"unknown":                       {0, short, 0},
		"reported covers the API":       {time.Hour, short, time.Hour},
		"reported lags behind the API":  {2 * time.Second, long, time.Hour},
		"API with the default window":   {time.Second, &API{}, DefaultClockSkew},
		"no API (cannot happen) trusts": {time.Minute, nil, time.Minute},
	} {
		if got := nonceSkew(tc.reported, tc.api); got != tc.want {
			t.Errorf("%s: nonceSkew = %s, want %s", name, got, tc.want)
		}
	}
}

// ttlStore records the nonce TTL of every Admit, and reports maxSkew as
// the widest window of any API.
type ttlStore struct {
	*fakeStore
	maxSkew time.Duration
	mu      sync.Mutex
	ttls    []time.Duration
}

func (s *ttlStore) Lookup(ctx context.Context, q LookupQuery) (LookupResult, error) {
	r, err := s.fakeStore.Lookup(ctx, q)
	r.MaxClockSkew = s.maxSkew
	return r, err
}

func (s *ttlStore) Admit(ctx context.Context, q AdmitQuery) (AdmitResult, error) {
	s.mu.Lock()
	s.ttls = append(s.ttls, q.NonceTTL)
	s.mu.Unlock()
	return s.fakeStore.Admit(ctx, q)
}

// TestNonceOutlivesEveryAPIWindow: a signature accepted on an API with a
// 2 s window is remembered until no API could accept its date, not for 4 s
// (after which a 1 h API would have taken it again).
func TestNonceOutlivesEveryAPIWindow(t *testing.T) {
	f := sigFixture()
	f.apis["short"] = &API{ID: "short", Methods: []Method{MethodHMAC, MethodParamSign}, Access: AccessAuthenticated, ReplayProtection: true, ClockSkew: 2 * time.Second}
	s := &ttlStore{fakeStore: f}
	e := NewEngine(s, WithClock(func() time.Time { return testNow }))

	signedAt := testNow.Add(-time.Second)
	r := hmacReq(t, sign.HMAC{Key: seedKey, Secret: seedSecret, Algorithm: "hmac-sha256"}, "GET", "/x", nil, map[string]string{"Date": signedAt.Format(http.TimeFormat)})
	r.Context = api("short")
	if d := e.Check(context.Background(), r); !d.Allow {
		t.Fatalf("hmac: %s %s", d.Reason, d.Message)
	}
	p := psRaw("/x?appKey=k1&apiTimestamp=" + strconv.FormatInt(signedAt.Unix(), 10))
	p.Context = api("short")
	if d := e.Check(context.Background(), p); !d.Allow {
		t.Fatalf("paramsign: %s %s", d.Reason, d.Message)
	}
	want := MaxClockSkew - time.Second + replayMargin
	if len(s.ttls) != 2 || s.ttls[0] != want || s.ttls[1] != want {
		t.Fatalf("nonce TTLs %v, want [%s %s] (the old TTL was 2×2s)", s.ttls, want, want)
	}
}

// TestNonceLivesForTheWidestConfiguredWindow: with the store reporting the
// widest window of the APIs now configured, a nonce lives until that
// window (not a day) has passed over its date; a store that lags behind
// the API record it served never shortens the nonce below that API's own
// window.
func TestNonceLivesForTheWidestConfiguredWindow(t *testing.T) {
	signedAt := testNow.Add(-time.Second)
	for name, tc := range map[string]struct {
		apiSkew, maxSkew time.Duration
		want             time.Duration
	}{
		"2s API, widest 1h":       {2 * time.Second, time.Hour, time.Hour - time.Second + replayMargin},
		"2s API, widest 2s":       {2 * time.Second, 2 * time.Second, time.Second + replayMargin},
		"1h API, store lags (2s)": {time.Hour, 2 * time.Second, time.Hour - time.Second + replayMargin},
		"unknown: a day":          {2 * time.Second, 0, MaxClockSkew - time.Second + replayMargin},
	} {
		t.Run(name, func(t *testing.T) {
			f := sigFixture()
			f.apis["w"] = &API{ID: "w", Methods: []Method{MethodHMAC, MethodParamSign}, Access: AccessAuthenticated, ReplayProtection: true, ClockSkew: tc.apiSkew}
			s := &ttlStore{fakeStore: f, maxSkew: tc.maxSkew}
			e := NewEngine(s, WithClock(func() time.Time { return testNow }))
			r := hmacReq(t, sign.HMAC{Key: seedKey, Secret: seedSecret, Algorithm: "hmac-sha256"}, "GET", "/x", nil, map[string]string{"Date": signedAt.Format(http.TimeFormat)})
			r.Context = api("w")
			if d := e.Check(context.Background(), r); !d.Allow {
				t.Fatalf("hmac: %s %s", d.Reason, d.Message)
			}
			p := psRaw("/x?appKey=k1&apiTimestamp=" + strconv.FormatInt(signedAt.Unix(), 10))
			p.Context = api("w")
			if d := e.Check(context.Background(), p); !d.Allow {
				t.Fatalf("paramsign: %s %s", d.Reason, d.Message)
			}
			if len(s.ttls) != 2 || s.ttls[0] != tc.want || s.ttls[1] != tc.want {
				t.Fatalf("nonce TTLs %v, want [%s %s]", s.ttls, tc.want, tc.want)
			}
		})
	}
}
