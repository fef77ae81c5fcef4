package authz

import (
	"fmt"
	"strings"
	"time"
)

// HTTP-date layouts without their zone word, which is checked apart so a
// local zone (the seed's Go client formats in Europe/London, BST half the
// year) is refused instead of being read as UTC.
const (
	layoutRFC1123 = "Mon, 02 Jan 2006 15:04:05"
	layoutRFC850  = "Monday, 02-Jan-06 15:04:05"
)

// parseSignedDate parses a Date or X-Date value: RFC 1123 (the preferred
// form), RFC 850 or asctime, as net/http's ParseTime does. The zone word
// must say UTC: GMT, or UTC and Z, which some client libraries print
// (Java's "z" pattern on ZoneOffset.UTC gives "Z"). Any other zone is an
// error rather than a guess, because the signature covers the text
// exactly and a zone we read wrong would only surface as a clock-skew
// puzzle on the client's side.
func parseSignedDate(v string) (time.Time, error) {
	if i := strings.LastIndexByte(v, ' '); i > 0 {
		head, zone := v[:i], v[i+1:]
		for _, layout := range []string{layoutRFC1123, layoutRFC850} {
			t, err := time.Parse(layout, head)
			if err != nil {
				continue
			}
			switch zone {
			case "GMT", "UTC", "Z":
				return t, nil
			}
			return time.Time{}, fmt.Errorf("the date %q is in zone %q: format it in GMT, e.g. %q (a client formatting in Europe/London sends BST in summer)", v, zone, time.Unix(1498165956, 0).UTC().Format(timeFormatGMT))
		}
	}
	if t, err := time.Parse(time.ANSIC, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("the date %q is not an HTTP-date: use RFC 1123 in GMT, e.g. %q", v, time.Unix(1498165956, 0).UTC().Format(timeFormatGMT))
}

// timeFormatGMT is net/http's TimeFormat, kept here so the core does not
// import net/http for one constant.
const timeFormatGMT = "Mon, 02 Jan 2006 15:04:05 GMT"

// MaxClockSkew is the widest signature window an API may have; the store
// refuses a larger clock_skew when the API is written. The replay guard
// depends on it: a nonce is kept until no API could accept its date.
const MaxClockSkew = 24 * time.Hour

// replayMargin lengthens every nonce past the last instant an API could
// accept its date: authzd replicas and Redis each read their own clock.
const replayMargin = time.Minute

// signatureSkew is the API's signature time window, at most MaxClockSkew.
func signatureSkew(api *API) time.Duration {
	if api.ClockSkew > 0 {
		return min(api.ClockSkew, MaxClockSkew)
	}
	return DefaultClockSkew
}

// replayTTL is how long, from now, a signature dated signedAt is
// remembered: until no API could accept that date any more, plus
// replayMargin. The nonce is shared by all of an app's APIs, so the window
// of the API that saw it first is not enough: a signature seen on a 2 s
// API would pass again on a 1 h API once a 4 s nonce had lapsed. Only the
// configurable maximum covers every API, including one whose window is
// widened later.
func replayTTL(signedAt, now time.Time) time.Duration {
	if !withinWindow(signedAt, now, MaxClockSkew) {
		// No accepted signature gets here (its date passed a narrower
		// window); remember it as long as any could be.
		return 2*MaxClockSkew + replayMargin
	}
	// |signedAt - now| <= MaxClockSkew, so Sub cannot saturate.
	return signedAt.Sub(now) + MaxClockSkew + replayMargin
}

// withinWindow reports whether t is within skew of now, bounds included.
// It compares instants, never their difference: now.Sub(t) saturates at
// about ±292 years and the saturated minimum stays negative when negated,
// which once let a date in year 9999 pass every window. The skew is
// bounded to [0, MaxClockSkew], so now±skew cannot overflow either.
func withinWindow(t, now time.Time, skew time.Duration) bool {
	skew = max(0, min(skew, MaxClockSkew))
	return !t.Before(now.Add(-skew)) && !t.After(now.Add(skew))
}

// unixWithinWindow is withinWindow for a client's Unix-seconds timestamp
// (apiTimestamp). The seconds are compared as integers first, because
// time.Unix wraps around for values near the int64 limits rather than
// failing.
func unixWithinWindow(sec int64, now time.Time, skew time.Duration) bool {
	return countNear(sec, now.Unix(), time.Second) && withinWindow(time.Unix(sec, 0), now, skew)
}

// unixMilliWithinWindow is unixWithinWindow for a timestamp in Unix
// milliseconds (X-Ca-Timestamp).
func unixMilliWithinWindow(ms int64, now time.Time, skew time.Duration) bool {
	return countNear(ms, now.UnixMilli(), time.Millisecond) && withinWindow(time.UnixMilli(ms), now, skew)
}

// countNear reports whether v is within MaxClockSkew (and one unit) of n,
// both counted in unit. n is a real clock reading, so n±MaxClockSkew
// cannot overflow.
func countNear(v, n int64, unit time.Duration) bool {
	s := int64(MaxClockSkew/unit) + 1
	return v >= n-s && v <= n+s
}
