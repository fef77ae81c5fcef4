package authz

import "time"

// Expiry is when a key or grant stops working, or never. "Never" is its
// own state, not a sentinel instant: the zero value means never, and an
// instant is only ever set through ExpiryAt, so no date however far in the
// past (the Unix epoch, Go's zero time.Time) can be mistaken for "never".
// An operator who expires a credential at 1970-01-01T00:00:00Z has ended it.
type Expiry struct {
	at  time.Time
	set bool
}

// NoExpiry is the expiry of a record that never expires (the zero Expiry).
var NoExpiry = Expiry{}

// ExpiryAt is an expiry at instant t, whatever t is (the zero time.Time is
// year 1, long past, not "never").
func ExpiryAt(t time.Time) Expiry { return Expiry{at: t, set: true} }

// ExpiryOf converts an optional instant: nil is no expiry.
func ExpiryOf(t *time.Time) Expiry {
	if t == nil {
		return NoExpiry
	}
	return ExpiryAt(*t)
}

// Never reports whether e is no expiry.
func (e Expiry) Never() bool { return !e.set }

// Time is the instant of e; ok is false when e never expires.
func (e Expiry) Time() (t time.Time, ok bool) { return e.at, e.set }

// Ptr is the instant of e, or nil when it never expires: the shape the
// admin API and the CLI's JSON (`expires_at` absent for never) use.
func (e Expiry) Ptr() *time.Time {
	if !e.set {
		return nil
	}
	t := e.at
	return &t
}

// Passed reports whether e is over at now: from its instant on. It
// compares instants, never a difference of them, so dates centuries away
// cannot overflow into "not yet".
func (e Expiry) Passed(now time.Time) bool { return e.set && !now.Before(e.at) }

// Equal reports whether e and o are both never, or the same instant.
func (e Expiry) Equal(o Expiry) bool {
	return e.set == o.set && (!e.set || e.at.Equal(o.at))
}

// String is "never" or the instant in RFC 3339 UTC.
func (e Expiry) String() string {
	if !e.set {
		return "never"
	}
	return e.at.UTC().Format(time.RFC3339)
}
