package store

import (
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// FuzzExpiryCodec: every instant the store accepts, whatever its 64-bit
// seconds and nanoseconds, is written as something other than "no expiry"
// and reads back as the same second (rounded down), passed whenever the
// original is, at any now; and its stored form encodes to itself again.
func FuzzExpiryCodec(f *testing.F) {
	for _, s := range []int64{0, -1, 1, -62135596800, -62167219200, 253402300799, 1<<63 - 1, -1 << 63} {
		f.Add(s, int64(0), int64(1_700_000_000))
	}
	f.Add(int64(0), int64(999_999_999), int64(0))
	f.Add(int64(-1), int64(1), int64(-1))
	f.Fuzz(func(t *testing.T, sec, nsec, now int64) {
		at := time.Unix(sec, nsec%1_000_000_000).UTC()
		e := authz.ExpiryAt(at)
		if validExpiry(e) != nil {
			return
		}
		raw := encodeExpiry(e)
		if raw == noExpiry || raw == "" {
			t.Fatalf("instant %v encoded as no expiry %q", at, raw)
		}
		back, err := decodeExpiry("expires_at", raw)
		if err != nil {
			t.Fatalf("decodeExpiry(%q) of %v: %v", raw, at, err)
		}
		got, ok := back.Time()
		if !ok || got.Unix() != at.Unix() || got.After(at) {
			t.Fatalf("%v encoded %q read back %v (%v)", at, raw, got, ok)
		}
		// Rounding down may end it up to a second early, never later.
		n := time.Unix(now, 0)
		if e.Passed(n) && !back.Passed(n) || at.Nanosecond() == 0 && back.Passed(n) != e.Passed(n) {
			t.Fatalf("%v and its stored form %v disagree about now %v", at, got, n)
		}
		if again := encodeExpiry(back); again != raw {
			t.Fatalf("%q decoded and encoded again as %q", raw, again)
		}
	})
}
