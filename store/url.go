package store

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// OpenURL parses a --redis-url into a client: redis://, rediss:// or
// unix:// for one server, redis-sentinel:// for a Sentinel-managed master
// and redis-cluster:// for a Cluster (urlmulti.go). It does not dial: the
// first command (or Ping) does.
//
// Error messages never repeat the URL, which may hold a password. opts
// add what a URL cannot hold, such as a private CA (WithTLSFiles).
func OpenURL(rawURL string, opts ...OpenOption) (redis.UniversalClient, error) {
	var oo openOptions
	for _, o := range opts {
		o(&oo)
	}
	const usage = "use redis://[user:password@]host:port/db or rediss://… for TLS"
	if strings.TrimSpace(rawURL) == "" {
		return nil, fmt.Errorf("redis URL is empty: %s", usage)
	}
	scheme, _, _ := strings.Cut(rawURL, "://")
	if _, multi := multiSchemes[scheme]; multi {
		return openMulti(rawURL, oo)
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
	case "sentinel", "cluster":
		return nil, fmt.Errorf("redis URL scheme %q is not supported: %s; %s", u.Scheme, usage, multiUsage)
	default:
		return nil, fmt.Errorf("redis URL scheme %q is not supported: %s", u.Scheme, usage)
	}
	// go-redis would turn certificate checks off for ?skip_verify=true;
	// appauthz has no such switch (docs/tls.md), as the multi-host parser.
	if u.Query().Has("skip_verify") {
		return nil, fmt.Errorf("redis URL option \"skip_verify\" is not supported: Redis's certificate is always verified; give its CA with --redis-ca-file instead: %s", usage)
	}
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis URL %s: %v: %s", u.Redacted(), err, usage)
	}
	if err := oo.applyTLS(ro.TLSConfig); err != nil {
		return nil, err
	}
	tune(ro)
	return redis.NewClient(ro), nil
}

// tune sets the client options authzd needs on the request path. One quick
// retry covers a connection the server closed while idle; more retries
// would only stretch a Check past Envoy's timeout when Redis is down, where
// a fast StoreUnavailable is the right answer. Maintenance notifications
// are a Redis Enterprise/Cloud feature that plain Redis 7 rejects with an
// error on every new connection, so they are off.
func tune(opts *redis.Options) {
	opts.MaxRetries = 1
	// Without this go-redis ignores the context's deadline on the socket, so
	// a Redis that accepts but does not answer would hold a Check for the
	// 3 s read timeout (twice, with the retry) instead of --redis-timeout.
	opts.ContextTimeoutEnabled = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// RESP2: RESP3 makes go-redis look for push notifications before
	// every reply, which costs a signed Check's round trip about 7% of
	// its CPU; appauthz uses nothing RESP3 adds (pub/sub works on both).
	opts.Protocol = 2
}
