package authz

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

func TestParseRate(t *testing.T) {
	tests := map[string]struct {
		in   string
		want RateLimit
		err  string
	}{
		"per second":         {in: "100/s", want: RateLimit{Count: 100, Period: time.Second}},
		"per minute long":    {in: " 6000 / Minute ", want: RateLimit{Count: 6000, Period: time.Minute}},
		"per hour":           {in: "10/h", want: RateLimit{Count: 10, Period: time.Hour}},
		"per day":            {in: "5/day", want: RateLimit{Count: 5, Period: 24 * time.Hour}},
		"one per µs":         {in: "1000000/s", want: RateLimit{Count: 1000000, Period: time.Second}},
		"over one per µs":    {in: "1000001/s", err: "at most one per microsecond"},
		"no unit":            {in: "100", err: "COUNT/UNIT"},
		"zero":               {in: "0/s", err: "positive count"},
		"negative":           {in: "-1/s", err: "positive count"},
		"week":               {in: "5/week", err: "unit must be s, m, h or d"},
		"multiplied periods": {in: "5/2s", err: "unit must be"},
		"empty":              {in: "", err: "COUNT/UNIT"},
		"huge":               {in: "99999999999999999999/d", err: "positive count"},
	}
	for name, tc := range tests {
		got, err := ParseRate(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: ParseRate(%q) error = %v; want one containing %q", name, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: ParseRate(%q) = %+v, %v; want %+v", name, tc.in, got, err, tc.want)
		}
		if again, _ := ParseRate(got.String()); again != got {
			t.Errorf("%s: %q does not parse back to itself", name, got.String())
		}
	}
}

func TestParseQuota(t *testing.T) {
	for in, want := range map[string]int64{"10000/day": 10000, "1/d": 1, " 7 / DAY": 7} {
		if got, err := ParseQuota(in); err != nil || got != want {
			t.Errorf("ParseQuota(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"10000", "10/h", "0/day", "-3/day", "1000000000001/day", "x/day"} {
		if _, err := ParseQuota(in); err == nil {
			t.Errorf("ParseQuota(%q) succeeded", in)
		}
	}
	if FormatQuota(10000) != "10000/day" || FormatQuota(0) != "" {
		t.Errorf("FormatQuota: %q %q", FormatQuota(10000), FormatQuota(0))
	}
}

func TestRateLimitValidate(t *testing.T) {
	tests := map[string]struct {
		r   RateLimit
		err string
	}{
		"none":               {RateLimit{}, ""},
		"burst without rate": {RateLimit{Burst: 5}, "a burst needs a rate"},
		"odd period":         {RateLimit{Count: 5, Period: 7 * time.Second}, "not supported"},
		"negative burst":     {RateLimit{Count: 5, Period: time.Second, Burst: -1}, "negative"},
		"burst of 30 days":   {RateLimit{Count: 1, Period: 24 * time.Hour, Burst: 30}, ""},
		"burst over 30 days": {RateLimit{Count: 1, Period: 24 * time.Hour, Burst: 31}, "30 days"},
	}
	for name, tc := range tests {
		err := tc.r.Validate()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: Validate() = %v; want %q", name, err, tc.err)
		}
	}
}

func TestInterval(t *testing.T) {
	for r, want := range map[RateLimit]time.Duration{
		{Count: 100, Period: time.Second}:     10 * time.Millisecond,
		{Count: 3, Period: time.Second}:       333334 * time.Microsecond, // rounded up: never faster than configured
		{Count: 50, Period: 24 * time.Hour}:   1728 * time.Second,
		{Count: 1000000, Period: time.Second}: time.Microsecond,
		{}:                                    0,
	} {
		if got := r.Interval(); got != want {
			t.Errorf("%+v.Interval() = %v; want %v", r, got, want)
		}
	}
}

func TestEffectiveLimits(t *testing.T) {
	apiL := Limits{Rate: RateLimit{Count: 100, Period: time.Second}, Quota: 1000}
	own := Limits{Rate: RateLimit{Count: 10, Period: time.Second}}
	a := &API{ID: "x", Limits: apiL}
	for name, tc := range map[string]struct {
		api      *API
		override *Limits
		want     Limits
	}{
		"the API's":               {a, nil, apiL},
		"the app's replaces all":  {a, &own, own},
		"the app's may be none":   {a, &Limits{}, Limits{}},
		"no API, no limits":       {nil, nil, Limits{}},
		"app's on unlimited API":  {&API{ID: "y"}, &own, own},
		"unlimited API, no app's": {&API{ID: "y"}, nil, Limits{}},
	} {
		if got := EffectiveLimits(tc.api, tc.override); got != tc.want {
			t.Errorf("%s: %+v; want %+v", name, got, tc.want)
		}
	}
}

func TestQuotaDay(t *testing.T) {
	day, end := QuotaDay(time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("X", -5*3600)))
	if day != "20260101" || !end.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("QuotaDay = %s, %v; want the UTC day 20260101 ending 2026-01-02", day, end)
	}
}

func TestLimitHeaders(t *testing.T) {
	rate := &LimitState{Limit: 200, Remaining: 150, Reset: 500 * time.Millisecond}
	quota := &LimitState{Limit: 1000, Remaining: 20, Reset: 3*time.Hour + time.Millisecond}
	rateOut := &LimitState{Limit: 200, Exceeded: true, Remaining: 3, Reset: 2 * time.Second, RetryAfter: 10 * time.Millisecond}
	quotaOut := &LimitState{Limit: 1000, Exceeded: true, Reset: time.Hour, RetryAfter: time.Hour}
	tests := map[string]struct {
		states []*LimitState
		want   string
	}{
		"none":                       {nil, ""},
		"rate only":                  {[]*LimitState{rate, nil}, "ratelimit-limit=200 ratelimit-remaining=150 ratelimit-reset=1"},
		"least remaining wins":       {[]*LimitState{rate, quota}, "ratelimit-limit=1000 ratelimit-remaining=20 ratelimit-reset=10801"},
		"exceeded wins, retry ≥ 1s":  {[]*LimitState{rateOut, quota}, "ratelimit-limit=200 ratelimit-remaining=0 ratelimit-reset=2 retry-after=1"},
		"longest wait wins":          {[]*LimitState{rateOut, quotaOut}, "ratelimit-limit=1000 ratelimit-remaining=0 ratelimit-reset=3600 retry-after=3600"},
		"exceeded second in the row": {[]*LimitState{quota, quotaOut}, "ratelimit-limit=1000 ratelimit-remaining=0 ratelimit-reset=3600 retry-after=3600"},
	}
	for name, tc := range tests {
		var got []string
		for _, h := range limitHeaders(tc.states...) {
			got = append(got, h.Name+"="+h.Value)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", name, s, tc.want)
		}
	}
}

// limitStore is the core fixture with limits: it records each AdmitQuery
// and answers with admit (or fails with admitErr).
type limitStore struct {
	*fakeStore
	own      map[string]*Limits // app → its own limits on every API
	queries  []AdmitQuery
	admit    func(AdmitQuery) AdmitResult
	admitErr error
}

func (s *limitStore) Principal(ctx context.Context, q PrincipalQuery) (PrincipalResult, error) {
	r, err := s.fakeStore.Principal(ctx, q)
	if err == nil && q.LimitAPI != "" {
		r.Limits = map[string]*Limits{}
		for _, id := range q.AppIDs {
			if l := s.own[id]; l != nil {
				r.Limits[id] = l
			}
		}
	}
	return r, err
}

func (s *limitStore) Admit(ctx context.Context, q AdmitQuery) (AdmitResult, error) {
	s.queries = append(s.queries, q)
	if s.admitErr != nil {
		return AdmitResult{}, s.admitErr
	}
	if q.Nonce != "" {
		if r, err := s.fakeStore.Admit(ctx, q); err != nil || r.Replayed {
			return r, err
		}
	}
	if s.admit == nil {
		return AdmitResult{}, nil
	}
	return s.admit(q), nil
}

func newLimitStore() *limitStore {
	f := sigFixture()
	f.apis["orders"].Limits = Limits{Rate: RateLimit{Count: 100, Period: time.Second}}
	f.apis["sig"].Limits = Limits{Quota: 10}
	return &limitStore{fakeStore: f, own: map[string]*Limits{}}
}

func header(hs []HeaderValue, name string) string {
	for _, h := range hs {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

func TestCheckWithLimits(t *testing.T) {
	ctx := context.Background()
	key := req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders"))

	t.Run("charged with the engine's clock; headers on allow", func(t *testing.T) {
		s := newLimitStore()
		s.admit = func(AdmitQuery) AdmitResult {
			return AdmitResult{Rate: &LimitState{Limit: 100, Remaining: 99, Reset: 10 * time.Millisecond}}
		}
		d := NewEngine(s, WithClock(func() time.Time { return testNow })).Check(ctx, key)
		if !d.Allow {
			t.Fatalf("denied %s", d.Reason)
		}
		want := AdmitQuery{Now: testNow, AppID: "app1", API: "orders", Limits: Limits{Rate: RateLimit{Count: 100, Period: time.Second}}}
		if len(s.queries) != 1 || s.queries[0] != want {
			t.Fatalf("Admit queries = %+v; want [%+v]", s.queries, want)
		}
		if header(d.ResponseHeaders, "ratelimit-remaining") != "99" || header(d.ResponseHeaders, "ratelimit-limit") != "100" || header(d.ResponseHeaders, "ratelimit-reset") != "1" {
			t.Errorf("allow response headers = %v", d.ResponseHeaders)
		}
	})

	t.Run("over the limit: 429 with retry-after", func(t *testing.T) {
		s := newLimitStore()
		s.admit = func(AdmitQuery) AdmitResult {
			return AdmitResult{Rate: &LimitState{Limit: 100, Exceeded: true, Reset: time.Second, RetryAfter: 2500 * time.Millisecond}}
		}
		d := NewEngine(s).Check(ctx, key)
		if d.Allow || d.Reason != ReasonRateLimited || d.Status() != 429 {
			t.Fatalf("got %v %s; want 429 RateLimited", d.Allow, d.Reason)
		}
		if header(d.ResponseHeaders, "retry-after") != "3" || header(d.ResponseHeaders, "ratelimit-remaining") != "0" || d.Identity.AppID != "app1" {
			t.Errorf("deny headers %v, identity %+v", d.ResponseHeaders, d.Identity)
		}
	})

	t.Run("the app's own limits replace the API's", func(t *testing.T) {
		s := newLimitStore()
		own := Limits{Quota: 5}
		s.own["app1"] = &own
		NewEngine(s).Check(ctx, key)
		if len(s.queries) != 1 || s.queries[0].Limits != own {
			t.Fatalf("charged %+v; want the app's own %+v", s.queries, own)
		}
	})

	t.Run("unlimited app: no round trip", func(t *testing.T) {
		s := newLimitStore()
		s.own["app1"] = &Limits{}
		if d := NewEngine(s).Check(ctx, key); !d.Allow || len(d.ResponseHeaders) != 0 {
			t.Fatalf("got %+v", d)
		}
		if len(s.queries) != 0 {
			t.Errorf("Admit called %d times for an unlimited app", len(s.queries))
		}
	})

	t.Run("no limits, no nonce: no round trip", func(t *testing.T) {
		s := newLimitStore()
		NewEngine(s).Check(ctx, req("GET", "/", map[string]string{"x-app-key": "k1"}, api("keyonly")))
		if len(s.queries) != 0 {
			t.Errorf("Admit called for an API without limits")
		}
	})

	t.Run("unauthenticated and unauthorized traffic is never charged", func(t *testing.T) {
		s := newLimitStore()
		e := NewEngine(s, WithClock(func() time.Time { return testNow }))
		for _, r := range []*Request{
			req("GET", "/orders", map[string]string{"x-app-key": "nope"}, api("orders")),
			req("GET", "/orders", map[string]string{"x-app-key": "k2"}, api("orders")), // disabled app
			req("GET", "/orders", map[string]string{"x-app-key": "k5"}, api("orders")), // expired grant
			hmacReq(t, sign.HMAC{Key: "k1", Secret: "wrong", Now: testNow}, "GET", "/x", nil, nil),
		} {
			if d := e.Check(ctx, r); d.Allow {
				t.Fatalf("allowed %+v", r)
			}
		}
		if len(s.queries) != 0 {
			t.Errorf("denied requests were charged: %+v", s.queries)
		}
	})

	t.Run("nonce and limits in one Admit", func(t *testing.T) {
		s := newLimitStore()
		r := hmacReq(t, sign.HMAC{Key: "k1", Secret: "s1", Now: testNow}, "GET", "/x", nil, nil)
		e := NewEngine(s, WithClock(func() time.Time { return testNow }))
		e.Check(ctx, r)
		if len(s.queries) != 1 || s.queries[0].Nonce == "" || s.queries[0].Limits.Quota != 10 || s.queries[0].AppID != "app1" {
			t.Fatalf("queries %+v; want one with the nonce and the quota", s.queries)
		}
		if d := e.Check(ctx, r); d.Reason != ReasonReplayedRequest {
			t.Errorf("replay: %s", d.Reason)
		}
	})
}

func TestRateLimitFailOpen(t *testing.T) {
	ctx := context.Background()
	down := errors.New("connection refused")
	key := req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders"))
	signed := func() *Request {
		r := hmacReq(t, sign.HMAC{Key: "k1", Secret: "s1", Now: testNow}, "GET", "/x", nil, nil)
		return r
	}
	var reported []string
	report := func(_ context.Context, id Identity, err error) { reported = append(reported, id.AppID+" "+err.Error()) }
	tests := map[string]struct {
		opts   []EngineOption
		req    *Request
		reason Reason
	}{
		"default fails closed":                  {nil, key, ReasonStoreUnavailable},
		"fail-open lets a limited request pass": {[]EngineOption{WithRateLimitFailOpen(report)}, key, ReasonOK},
		"the replay guard still fails closed":   {[]EngineOption{WithRateLimitFailOpen(report)}, signed(), ReasonStoreUnavailable},
		"nil report is allowed":                 {[]EngineOption{WithRateLimitFailOpen(nil)}, key, ReasonOK},
	}
	for name, tc := range tests {
		reported = nil
		s := newLimitStore()
		s.admitErr = down
		opts := append([]EngineOption{WithClock(func() time.Time { return testNow })}, tc.opts...)
		d := NewEngine(s, opts...).Check(ctx, tc.req)
		if d.Reason != tc.reason {
			t.Errorf("%s: %s (%s); want %s", name, d.Reason, d.Message, tc.reason)
		}
		if d.Allow && len(d.ResponseHeaders) != 0 {
			t.Errorf("%s: unlimited pass carries %v", name, d.ResponseHeaders)
		}
		wantReport := name == "fail-open lets a limited request pass"
		if wantReport != slices.Equal(reported, []string{"app1 connection refused"}) {
			t.Errorf("%s: reported %v", name, reported)
		}
	}
	// Authentication is still enforced: lookups fail closed whatever the flag.
	s := newLimitStore()
	s.err = down
	if d := NewEngine(s, WithRateLimitFailOpen(report)).Check(ctx, key); d.Reason != ReasonStoreUnavailable {
		t.Errorf("lookup failure with fail-open: %s", d.Reason)
	}
}
