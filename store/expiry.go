package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// Expiries (key expires_at, grant values) are unix seconds. "0" and an
// absent or empty field mean "no expiry": that is the contract older
// records were written with, so it stays, and no instant may ever encode
// to it. Every instant is written as its real unix seconds (negative
// before 1970), except 1970-01-01T00:00:00Z itself, which is written "+0":
// it reads back as that exact instant here, and as a past instant (not
// "never") in versions that predate this encoding, which parse it with
// strconv.ParseInt too.
const (
	noExpiry    = "0"
	epochExpiry = "+0"
)

// Instants outside years 0000-9999 UTC are refused: RFC 3339 and JSON
// cannot show them, and time.Unix wraps around for the extreme int64s.
var (
	minExpiry = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// validExpiry checks an expiry before it is written.
func validExpiry(e authz.Expiry) error {
	t, ok := e.Time()
	if ok && (t.Before(minExpiry) || t.After(maxExpiry)) {
		return fmt.Errorf("expiry %s is outside years 0000-9999 UTC: give an RFC 3339 time such as 2027-01-31T23:59:59Z", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// encodeExpiry is the stored form of e, to the second (rounded down, so an
// expiry never moves later).
func encodeExpiry(e authz.Expiry) string {
	t, ok := e.Time()
	if !ok {
		return noExpiry
	}
	n := t.Unix()
	if n == 0 {
		return epochExpiry
	}
	return strconv.FormatInt(n, 10)
}

// decodeExpiry reads a stored expiry: "" and "0" are no expiry, any other
// integer of unix seconds (signed, "+0" for the epoch) an instant.
func decodeExpiry(field, v string) (authz.Expiry, error) {
	if v == "" || v == noExpiry {
		return authz.NoExpiry, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < minExpiry.Unix() || n > maxExpiry.Unix() {
		return authz.NoExpiry, fmt.Errorf("field %s is not unix seconds of years 0000-9999 (or 0 for no expiry): %q", field, v)
	}
	return authz.ExpiryAt(time.Unix(n, 0).UTC()), nil
}
