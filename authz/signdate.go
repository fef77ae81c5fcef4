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

// signatureSkew is the API's signature time window.
func signatureSkew(api *API) time.Duration {
	if api.ClockSkew > 0 {
		return api.ClockSkew
	}
	return DefaultClockSkew
}

// replayTTL is how long an accepted signature is remembered: a request is
// fresh for skew on either side of the server's clock, so twice the skew
// covers every instant at which it could still pass the time check.
func replayTTL(api *API) time.Duration { return 2 * signatureSkew(api) }

// withinSkew reports whether t is within the API's window around now,
// bounds included.
func withinSkew(api *API, t, now time.Time) bool {
	d := now.Sub(t)
	if d < 0 {
		d = -d
	}
	return d <= signatureSkew(api)
}
