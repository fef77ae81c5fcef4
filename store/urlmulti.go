package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Sentinel and Cluster URLs name several hosts, which net/url cannot
// parse, so they have their own small parser:
//
//	redis-sentinel://[user:password@]host:port[,host:port…]/MASTER[/DB][?sentinel_username=U&sentinel_password=P]
//	redis-cluster://[user:password@]host:port[,host:port…]
//
// rediss-sentinel:// and rediss-cluster:// use TLS. The user and password
// are those of the Redis data nodes (an ACL user); sentinels that require
// a password of their own take it from the query. A Cluster needs only
// some of its nodes as seeds: the client learns the others.
const multiUsage = "use redis-sentinel://[user:password@]host:port,host:port/MASTER[/DB] or redis-cluster://[user:password@]host:port,host:port (rediss-… for TLS)"

// multiSchemes maps the multi-host schemes to (sentinel?, tls?).
var multiSchemes = map[string][2]bool{
	"redis-sentinel":  {true, false},
	"rediss-sentinel": {true, true},
	"redis-cluster":   {false, false},
	"rediss-cluster":  {false, true},
}

// openMulti opens a Sentinel (failover) or Cluster client.
func openMulti(rawURL string, oo openOptions) (redis.UniversalClient, error) {
	opts, err := parseMulti(rawURL)
	if err != nil {
		return nil, err
	}
	if err := oo.applyTLS(opts.TLSConfig); err != nil {
		return nil, err
	}
	if opts.IsClusterMode {
		co := opts.Cluster()
		// go-redis reloads the slot map only every minute when a node
		// stops answering (a pipeline's failure does not trigger it), so a
		// failover would leave Checks on the dead master's slots failing
		// that long. A reload is one CLUSTER SLOTS, done in the background.
		co.ClusterStateReloadInterval = clusterReload
		return redis.NewClusterClient(co), nil
	}
	return redis.NewUniversalClient(opts), nil
}

// clusterReload bounds how long a Cluster client keeps a stale slot map.
const clusterReload = time.Second

func parseMulti(rawURL string) (*redis.UniversalOptions, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	kind := multiSchemes[scheme]
	sentinel, useTLS := kind[0], kind[1]

	authority, pathQuery := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, pathQuery = rest[:i], rest[i:]
	}
	opts := &redis.UniversalOptions{}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		// Parse the user info through net/url, which decodes %-escapes.
		u, err := url.Parse("redis://" + authority[:at] + "@h")
		if err != nil {
			return nil, fmt.Errorf("invalid user or password in the redis URL: %s", multiUsage)
		}
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
		authority = authority[at+1:]
	}
	for _, h := range strings.Split(authority, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return nil, fmt.Errorf("redis URL host %q: each host needs host:port: %s", h, multiUsage)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redis URL host %q: the port must be a number from 1 to 65535: %s", h, multiUsage)
		}
		opts.Addrs = append(opts.Addrs, h)
	}
	u, err := url.Parse("redis://h" + pathQuery)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid redis URL: %v: %s", err, multiUsage)
	}
	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	q := u.Query()
	if sentinel {
		if len(segs) < 1 || len(segs) > 2 {
			return nil, fmt.Errorf("a Sentinel URL names the master after the hosts (…/mymaster or …/mymaster/0): %s", multiUsage)
		}
		opts.MasterName = segs[0]
		if len(segs) == 2 {
			if opts.DB, err = strconv.Atoi(segs[1]); err != nil || opts.DB < 0 {
				return nil, fmt.Errorf("redis URL database %q is not a number: %s", segs[1], multiUsage)
			}
		}
		opts.SentinelUsername, opts.SentinelPassword = q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
	} else {
		if len(segs) > 0 {
			return nil, fmt.Errorf("a Cluster URL has no path (a Cluster has only database 0): %s", multiUsage)
		}
		opts.IsClusterMode = true
	}
	for k := range q {
		return nil, fmt.Errorf("redis URL option %q is not supported: %s", k, multiUsage)
	}
	if useTLS {
		host, _, _ := net.SplitHostPort(opts.Addrs[0])
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	opts.MaxRetries = 1
	opts.ContextTimeoutEnabled = true
	opts.Protocol = 2
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, nil
}
