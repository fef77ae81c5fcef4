package authz

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

func TestWithinWindow(t *testing.T) {
	now := testNow
	skew := 5 * time.Minute
	tests := map[string]struct {
		t    time.Time
		skew time.Duration
		want bool
	}{
		"now":                      {now, skew, true},
		"skew ago (bound)":         {now.Add(-skew), skew, true},
		"skew ahead (bound)":       {now.Add(skew), skew, true},
		"skew+1ns ago":             {now.Add(-skew - 1), skew, false},
		"skew+1ns ahead":           {now.Add(skew + 1), skew, false},
		"year 9999":                {time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), skew, false},
		"year 0":                   {time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), skew, false},
		"zero time":                {time.Time{}, skew, false},
		"292 years ahead":          {now.AddDate(292, 0, 0), skew, false},
		"293 years ahead":          {now.AddDate(293, 0, 0), skew, false},
		"292 years ago":            {now.AddDate(-292, 0, 0), skew, false},
		"293 years ago":            {now.AddDate(-293, 0, 0), skew, false},
		"unix max seconds":         {time.Unix(math.MaxInt64, 0), skew, false},
		"unix min seconds":         {time.Unix(math.MinInt64, 0), skew, false},
		"unix max ms as seconds":   {time.UnixMilli(math.MaxInt64), skew, false},
		"a skew above the maximum": {now.Add(25 * time.Hour), math.MaxInt64, false},
		"maximum skew still holds": {now.Add(-MaxClockSkew), math.MaxInt64, true},
		"negative skew is zero":    {now.Add(time.Nanosecond), -time.Hour, false},
		"negative skew, exact now": {now, math.MinInt64, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := withinWindow(tc.t, now, tc.skew); got != tc.want {
				t.Fatalf("withinWindow(%s, %s, %s) = %v, want %v", tc.t, now, tc.skew, got, tc.want)
			}
		})
	}
}

func TestUnixWithinWindow(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 500_000_000, time.UTC) // half a second in
	n, skew := now.Unix(), 300*time.Second
	tests := map[string]struct {
		sec  int64
		want bool
	}{
		"now":                        {n, true},
		"skew ago":                   {n - 299, true},
		"just outside, past":         {n - 301, false},
		"skew ahead (whole seconds)": {n + 300, true},
		"just outside, future":       {n + 301, false},
		"milliseconds":               {1796684535019, false},
		"year 5138":                  {99999999999, false},
		"max int64":                  {math.MaxInt64, false},
		"min int64":                  {math.MinInt64, false},
		"max int64 minus the epoch":  {math.MaxInt64 - 62135596800, false},
		"wraps inside time.Unix":     {math.MaxInt64 - 62135596800 + 1, false},
		"zero":                       {0, false},
		"-1":                         {-1, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := unixWithinWindow(tc.sec, now, skew); got != tc.want {
				t.Fatalf("unixWithinWindow(%d, %s, %s) = %v, want %v", tc.sec, now, skew, got, tc.want)
			}
		})
	}
}

func TestUnixMilliWithinWindow(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 500_000_000, time.UTC)
	n, skew := now.UnixMilli(), 300*time.Second
	tests := map[string]struct {
		ms   int64
		want bool
	}{
		"now":                  {n, true},
		"skew ago (bound)":     {n - 300_000, true},
		"skew ahead (bound)":   {n + 300_000, true},
		"just outside, past":   {n - 300_001, false},
		"just outside, future": {n + 300_001, false},
		"seconds":              {now.Unix(), false},
		"max int64":            {math.MaxInt64, false},
		"min int64":            {math.MinInt64, false},
		"microseconds":         {now.UnixMicro(), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := unixMilliWithinWindow(tc.ms, now, skew); got != tc.want {
				t.Fatalf("unixMilliWithinWindow(%d, %s, %s) = %v, want %v", tc.ms, now, skew, got, tc.want)
			}
		})
	}
}

// TestSignedDatesFarAway sends signatures whose date or apiTimestamp is
// centuries away, which once passed every window because the difference
// saturated.
func TestSignedDatesFarAway(t *testing.T) {
	for _, date := range []string{
		"Fri, 31 Dec 9999 23:59:59 GMT",
		"Sat, 01 Jan 0000 00:00:00 GMT",
		"Mon, 01 Jan 0001 00:00:00 GMT",
		time.Date(2026+293, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat),
	} {
		t.Run("hmac "+date, func(t *testing.T) {
			r := hmacReq(t, sign.HMAC{Key: seedKey, Secret: seedSecret, Algorithm: "hmac-sha256"}, "GET", "/x", nil, map[string]string{"Date": date})
			d := sigEngine(sigFixture(), testNow).Check(context.Background(), r)
			if d.Reason != ReasonClockSkew {
				t.Fatalf("reason %s (%s), want ClockSkew", d.Reason, d.Message)
			}
		})
	}
	for _, ts := range []int64{1796684535019, 99999999999, math.MaxInt64, math.MinInt64, -1, testNow.Unix() + 301, testNow.Unix() - 301} {
		t.Run("paramsign "+strconv.FormatInt(ts, 10), func(t *testing.T) {
			d := sigEngine(sigFixture(), testNow).Check(context.Background(), psRaw("/x?a=1&appKey=k1&apiTimestamp="+strconv.FormatInt(ts, 10)))
			if d.Reason != ReasonClockSkew {
				t.Fatalf("reason %s (%s), want ClockSkew", d.Reason, d.Message)
			}
		})
	}
	t.Run("milliseconds are named", func(t *testing.T) {
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), psRaw("/x?appKey=k1&apiTimestamp="+strconv.FormatInt(testNow.UnixMilli(), 10)))
		if d.Reason != ReasonClockSkew || !strings.Contains(d.Message, "milliseconds") {
			t.Fatalf("reason %s (%s), want ClockSkew naming milliseconds", d.Reason, d.Message)
		}
	})
	t.Run("in the window", func(t *testing.T) {
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), psRaw("/x?appKey=k1&apiTimestamp="+strconv.FormatInt(testNow.Unix()+300, 10)))
		if !d.Allow {
			t.Fatalf("reason %s (%s), want allow", d.Reason, d.Message)
		}
	})
}

// psRaw signs a path whose query already holds appKey (k1) and any
// apiTimestamp, however odd, and appends sign.
func psRaw(uri string) *Request {
	r := req("GET", uri, nil, api("sig"))
	q, _ := ParseQuery(r.RawQuery)
	var ps []sign.Param
	for _, p := range q {
		ps = append(ps, sign.Param{Name: p.Name, Value: p.Value})
	}
	r.RawQuery += "&sign=" + sign.ParamSignature(ps, "s1")
	return r
}
