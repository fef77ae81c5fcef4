package authz

import (
	"math"
	"math/big"
	"testing"
	"time"
)

// FuzzTimeWindow: for any 64-bit timestamp, a time window accepts exactly
// the instants within skew of now, computed here with big integers so
// that nothing can overflow; skew is bounded to [0, MaxClockSkew]. now is
// a clock reading, anywhere from year 1 to year 9999.
func FuzzTimeWindow(f *testing.F) {
	n := testNow.Unix()
	f.Add(n, int64(0), n, int64(300*time.Second))
	f.Add(int64(253402300799), int64(0), n, int64(300*time.Second)) // 9999-12-31T23:59:59Z
	f.Add(int64(1796684535019), int64(0), n, int64(time.Hour))      // milliseconds
	f.Add(testNow.UnixMilli()-300_000, int64(0), n, int64(300*time.Second))
	f.Add(int64(99999999999), int64(0), n, int64(time.Hour))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), n, int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(math.MinInt64), n, int64(math.MinInt64))
	f.Add(n-300, int64(-1), n, int64(300*time.Second))
	f.Add(n+300, int64(1), n, int64(300*time.Second))
	f.Add(n+86400, int64(0), n, int64(math.MaxInt64))
	f.Add(int64(math.MaxInt64-62135596800+1), int64(0), n, int64(time.Hour)) // time.Unix wraps
	f.Fuzz(func(t *testing.T, sec, nsec, nowSec, skewNs int64) {
		const first, last = -62135596800, 253402300799 // years 1 and 9999
		if nowSec < first || nowSec > last {
			nowSec = first + int64(uint64(nowSec)%uint64(last-first+1))
		}
		now := time.Unix(nowSec, int64(uint64(nsec)%1e9)).UTC()
		skew := max(0, min(time.Duration(skewNs), MaxClockSkew))

		within := func(instant *big.Int) bool {
			d := new(big.Int).Sub(instant, nanos(now.Unix(), int64(now.Nanosecond())))
			return d.Abs(d).Cmp(big.NewInt(int64(skew))) <= 0
		}

		tm := time.Unix(sec, nsec)
		if got, want := withinWindow(tm, now, time.Duration(skewNs)), within(nanos(tm.Unix(), int64(tm.Nanosecond()))); got != want {
			t.Fatalf("withinWindow(%d.%09d, %s, %s) = %v, want %v", tm.Unix(), tm.Nanosecond(), now, skew, got, want)
		}
		if got, want := unixWithinWindow(sec, now, time.Duration(skewNs)), within(nanos(sec, 0)); got != want {
			t.Fatalf("unixWithinWindow(%d, %s, %s) = %v, want %v", sec, now, skew, got, want)
		}
		msInstant := new(big.Int).Mul(big.NewInt(sec), big.NewInt(1e6))
		if got, want := unixMilliWithinWindow(sec, now, time.Duration(skewNs)), within(msInstant); got != want {
			t.Fatalf("unixMilliWithinWindow(%d, %s, %s) = %v, want %v", sec, now, skew, got, want)
		}
		if ttl := replayTTL(tm, now); ttl < replayMargin || ttl > 2*MaxClockSkew+replayMargin {
			t.Fatalf("replayTTL(%s, %s) = %s, outside [%s, %s]", tm, now, ttl, replayMargin, 2*MaxClockSkew+replayMargin)
		}
	})
}

// nanos is sec*1e9 + nsec, exactly.
func nanos(sec, nsec int64) *big.Int {
	b := new(big.Int).Mul(big.NewInt(sec), big.NewInt(1e9))
	return b.Add(b, big.NewInt(nsec))
}
