package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// OpenURL parses a --redis-url (redis://, rediss://, or unix://) into a
// client. It does not dial: the first command (or Ping) does. Sentinel and
// Cluster URLs are not supported yet.
//
// Error messages never repeat the URL, which may hold a password.
func OpenURL(rawURL string) (redis.UniversalClient, error) {
	const usage = "use redis://[user:password@]host:port/db or rediss://… for TLS"
	if strings.TrimSpace(rawURL) == "" {
		return nil, fmt.Errorf("redis URL is empty: %s", usage)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password included
		}
		return nil, fmt.Errorf("invalid redis URL: %v: %s", err, usage)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	case "redis-sentinel", "sentinel", "redis-cluster", "cluster":
		return nil, fmt.Errorf("redis URL scheme %q is not supported yet: %s (Sentinel and Cluster come later)", u.Scheme, usage)
	default:
		return nil, fmt.Errorf("redis URL scheme %q is not supported: %s", u.Scheme, usage)
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis URL %s: %v: %s", u.Redacted(), err, usage)
	}
	tune(opts)
	return redis.NewClient(opts), nil
}

// tune sets the client options authzd needs on the request path. One quick
// retry covers a connection the server closed while idle; more retries
// would only stretch a Check past Envoy's timeout when Redis is down, where
// a fast StoreUnavailable is the right answer. Maintenance notifications
// are a Redis Enterprise/Cloud feature that plain Redis 7 rejects with an
// error on every new connection, so they are off.
func tune(opts *redis.Options) {
	opts.MaxRetries = 1
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}
