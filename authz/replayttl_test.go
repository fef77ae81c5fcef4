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
		want     time.Duration
	}{
		"signed now":                  {now, MaxClockSkew + replayMargin},
		"signed 1s ago":               {now.Add(-time.Second), MaxClockSkew - time.Second + replayMargin},
		"signed 1h ahead":             {now.Add(time.Hour), MaxClockSkew + time.Hour + replayMargin},
		"signed the maximum ago":      {now.Add(-MaxClockSkew), replayMargin},
		"signed the maximum ahead":    {now.Add(MaxClockSkew), longest},
		"outside every window (past)": {now.Add(-MaxClockSkew - 1), longest},
		"year 9999":                   {time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), longest},
		"zero time":                   {time.Time{}, longest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := replayTTL(tc.signedAt, now); got != tc.want {
				t.Fatalf("replayTTL = %s, want %s", got, tc.want)
			}
		})
	}
}

// ttlStore records the nonce TTL of every Admit.
type ttlStore struct {
	*fakeStore
	mu   sync.Mutex
	ttls []time.Duration
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
