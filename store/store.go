package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// Store is appauthz's Redis data model. It implements authz.Store for the
// decision core and the admin operations used by authzctl and --dev.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time
	keys    keyspace
	keyring *Keyring // nil: secrets in clear (--insecure-plaintext-secrets)
	// legacy makes key lookups also read format-1 records (named by the
	// app_key in clear) until `authzctl migrate` has run (format.go).
	legacy atomic.Bool
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the key prefix (default "appauthz:").
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithTimeout bounds every store call (default 500ms).
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithKeyring seals app secrets under the keyring's master key (see
// secretbox.go). Without it secrets are written and read in clear, which
// the binaries allow only with --insecure-plaintext-secrets.
func WithKeyring(k *Keyring) Option { return func(s *Store) { s.keyring = k } }

// DefaultPrefix is the key prefix when WithPrefix is not given.
const DefaultPrefix = "appauthz:"

// New wraps a connected client.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: DefaultPrefix, timeout: 500 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.keys = keyspace{prefix: s.prefix}
	return s
}

// Client returns the underlying client (health checks, tests).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Channel is the pub/sub channel every write publishes on (prefix +
// "invalidate"); caches subscribe to it.
func (s *Store) Channel() string { return s.keys.invalidate() }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: ping redis: %w", err)
	}
	return nil
}

// bound applies the store timeout to one call. It never extends the
// caller's deadline: a Check runs all its calls under one budget (set by
// the gRPC adapter, at most the store timeout), and a call late in the
// Check gets only what is left of it, not a fresh timeout. Of a caller's
// deadline it keeps back a tenth (at most boundReserve), so that a call
// Redis does not answer fails while the caller still has time to act on
// it: the cache answers from a stale record, or the deny goes out.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		left -= min(max(left/10, 0), boundReserve)
		if d <= 0 || left < d {
			d = max(left, time.Nanosecond) // an expired bound fails the call at once
		}
	}
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// boundReserve caps what bound keeps back from a caller's deadline: the
// work after a failed call is in-memory and takes microseconds.
const boundReserve = 10 * time.Millisecond

var _ authz.Store = (*Store)(nil)
