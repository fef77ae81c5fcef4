package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
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
	return redis.NewClient(opts), nil
}
