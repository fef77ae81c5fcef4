package authz

import (
	"context"
	"math"
	"testing"
	"time"
)

// epoch and year1 are the instants an operator types to end access at
// once; both used to read back as "never" (0 in Redis, Go's zero time).
var (
	epoch = time.Unix(0, 0).UTC()
	year1 = time.Time{}
	y9999 = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

func TestExpiryPassed(t *testing.T) {
	tests := map[string]struct {
		e    Expiry
		now  time.Time
		want bool
	}{
		"never":                 {NoExpiry, testNow, false},
		"never, far future now": {NoExpiry, y9999, false},
		"zero value is never":   {Expiry{}, testNow, false},
		"nil pointer is never":  {ExpiryOf(nil), testNow, false},
		"epoch":                 {ExpiryAt(epoch), testNow, true},
		"year 1 (zero time)":    {ExpiryAt(year1), testNow, true},
		"year 1 via pointer":    {ExpiryOf(&year1), testNow, true},
		"before the epoch":      {ExpiryAt(time.Unix(-1, 0)), testNow, true},
		"most negative seconds": {ExpiryAt(time.Unix(math.MinInt64/2, 0)), testNow, true},
		"at now":                {ExpiryAt(testNow), testNow, true},
		"a nanosecond later":    {ExpiryAt(testNow.Add(time.Nanosecond)), testNow, false},
		"year 9999":             {ExpiryAt(y9999), testNow, false},
		"year 9999 seen at 1":   {ExpiryAt(y9999), year1, false},
		"epoch seen at year 1":  {ExpiryAt(epoch), year1, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.e.Passed(tc.now); got != tc.want {
				t.Errorf("%v.Passed(%v) = %v, want %v", tc.e, tc.now, got, tc.want)
			}
			if got := expired(tc.e, tc.now); got != tc.want {
				t.Errorf("expired(%v, %v) = %v, want %v", tc.e, tc.now, got, tc.want)
			}
		})
	}
}

func TestExpiryAccessors(t *testing.T) {
	if !NoExpiry.Never() || NoExpiry.Ptr() != nil || NoExpiry.String() != "never" {
		t.Errorf("NoExpiry: Never %v Ptr %v String %q", NoExpiry.Never(), NoExpiry.Ptr(), NoExpiry)
	}
	if _, ok := NoExpiry.Time(); ok {
		t.Errorf("NoExpiry.Time() has an instant")
	}
	for _, at := range []time.Time{epoch, year1, y9999} {
		e := ExpiryAt(at)
		if got, ok := e.Time(); !ok || !got.Equal(at) || e.Never() {
			t.Errorf("ExpiryAt(%v): Time() = %v, %v; Never() = %v", at, got, ok, e.Never())
		}
		if p := e.Ptr(); p == nil || !p.Equal(at) {
			t.Errorf("ExpiryAt(%v).Ptr() = %v", at, p)
		}
		if !ExpiryOf(e.Ptr()).Equal(e) || e.Equal(NoExpiry) || NoExpiry.Equal(e) {
			t.Errorf("ExpiryAt(%v): Equal disagrees with itself or with never", at)
		}
	}
	if got := ExpiryAt(epoch).String(); got != "1970-01-01T00:00:00Z" {
		t.Errorf("epoch String() = %q", got)
	}
}

// TestCheckExpiredAtEpochAndYear1 is the engine's side of "expire now
// means never": a key or grant that ended at the epoch or in year 1 is
// over, one that ends in 9999 is not.
func TestCheckExpiredAtEpochAndYear1(t *testing.T) {
	tests := map[string]struct {
		key, grant Expiry
		want       Reason
	}{
		"no expiry":             {NoExpiry, NoExpiry, ReasonOK},
		"grant at the epoch":    {NoExpiry, ExpiryAt(epoch), ReasonGrantExpired},
		"grant in year 1":       {NoExpiry, ExpiryAt(year1), ReasonGrantExpired},
		"grant before epoch":    {NoExpiry, ExpiryAt(time.Unix(-86400, 0)), ReasonGrantExpired},
		"grant in 9999":         {NoExpiry, ExpiryAt(y9999), ReasonOK},
		"key at the epoch":      {ExpiryAt(epoch), NoExpiry, ReasonUnknownAppKey},
		"key in year 1":         {ExpiryAt(year1), NoExpiry, ReasonUnknownAppKey},
		"key in 9999":           {ExpiryAt(y9999), ExpiryAt(y9999), ReasonOK},
		"key ok, grant expired": {ExpiryAt(y9999), ExpiryAt(epoch), ReasonGrantExpired},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := fixture()
			f.apps["app9"] = &App{ID: "app9", Name: "Nine", Status: StatusActive}
			f.keys["k9"] = &Key{KeyID: "kid_k9", AppID: "app9", Secret: "s9", Status: StatusActive, ExpiresAt: tc.key}
			f.grant("orders", "RELEASE", "app9", &Grant{ExpiresAt: tc.grant})
			e := NewEngine(f, WithClock(func() time.Time { return testNow }))
			d := e.Check(context.Background(), req("GET", "/orders", map[string]string{"x-app-key": "k9"}, api("orders")))
			if d.Reason != tc.want || d.Allow != (tc.want == ReasonOK) {
				t.Fatalf("reason = %s allow = %v (%s), want %s", d.Reason, d.Allow, d.Message, tc.want)
			}
		})
	}
}
