package store

// SKELETON: see admin.go.

import (
	"context"
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
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the key prefix (default "appauthz:").
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithTimeout bounds every store call (default 500ms).
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New wraps a connected client.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: "appauthz:", timeout: 500 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Client returns the underlying client (health checks, tests).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return errTODO }

// OpenURL parses a --redis-url (redis://, rediss://) into a client.
func OpenURL(url string) (redis.UniversalClient, error) { return nil, errTODO }

var _ authz.Store = (*Store)(nil)

func (s *Store) Lookup(ctx context.Context, q authz.LookupQuery) (authz.LookupResult, error) {
	return authz.LookupResult{}, errTODO
}
func (s *Store) Principal(ctx context.Context, q authz.PrincipalQuery) (authz.PrincipalResult, error) {
	return authz.PrincipalResult{}, errTODO
}
func (s *Store) ClaimNonce(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return false, errTODO
}
