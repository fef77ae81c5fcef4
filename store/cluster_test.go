package store

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// The cluster is started once for the package, on first use, and stopped
// by TestMain: creating one takes a few seconds.
var cluster struct {
	once sync.Once
	c    *redistest.Cluster
	err  error
}

func testCluster(t *testing.T) *redistest.Cluster {
	t.Helper()
	cluster.once.Do(func() { cluster.c, cluster.err = redistest.NewCluster(3, 1) })
	if cluster.err != nil {
		t.Fatalf("redistest: %v", cluster.err)
	}
	return cluster.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.c != nil {
		cluster.c.Stop()
	}
	os.Exit(code)
}

// provisionRaw writes an app with a key and an AppCode, an API and a grant
// with plain pipelined HSETs (no MULTI): the admin writes run WATCH/MULTI
// across several slots, which a Cluster refuses (see docs/performance.md).
func provisionRaw(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	api, err := normalizeAPI(authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC},
		AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true})
	if err != nil {
		t.Fatal(err)
	}
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, s.keys.app("app1"), "name", "App 1", "status", "active")
	pipe.HSet(ctx, s.keys.key("app1-key"), encodeKey(authz.Key{AppID: "app1", Secret: "app1-secret-0001", Status: authz.StatusActive}, testNow))
	pipe.HSet(ctx, s.keys.appCode(authz.HashAppCode("CODE-APP1-0001")), "app_id", "app1", "status", "active")
	pipe.HSet(ctx, s.keys.api("orders"), encodeAPI(api, testNow))
	pipe.HSet(ctx, s.keys.grant("orders", authz.DefaultStage), "app1", "0")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// Replicas must hold the data before a master is killed.
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Do(ctx, "WAIT", 1, 5000).Err()
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// The Check path works on a Redis Cluster: the cache's pipelines span
// slots, the admit script's keys share the app's slot, invalidations are
// broadcast, and the loss of a master is survived once its replica takes
// over.
func TestCluster(t *testing.T) {
	cl := testCluster(t)
	rdb, err := OpenURL(cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s := New(rdb, WithTimeout(2*time.Second))
	ctx := context.Background()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	provisionRaw(t, s)
	c := startCache(t, s, CacheConfig{TTL: time.Hour})
	cached, direct := authz.NewEngine(c), authz.NewEngine(s)

	byCode := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": "APPCODE CODE-APP1-0001"}, Context: map[string]string{"api": "orders"}}
	byKey := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": "app1-key"}, Context: map[string]string{"api": "orders"}}
	t.Run("check path", func(t *testing.T) {
		for _, e := range []*authz.Engine{cached, direct} {
			for _, r := range []*authz.Request{byCode, byKey} {
				if d := e.Check(ctx, r); !d.Allow {
					t.Fatalf("denied %s: %s", d.Reason, d.Message)
				}
			}
		}
	})
	t.Run("replay guard", func(t *testing.T) {
		r := hmacRequest(t, "/signed")
		if d := cached.Check(ctx, r); !d.Allow {
			t.Fatalf("signed request denied %s: %s", d.Reason, d.Message)
		}
		if d := cached.Check(ctx, r); d.Reason != authz.ReasonReplayedRequest {
			t.Fatalf("replay: %s, want ReplayedRequest", d.Reason)
		}
	})
	t.Run("invalidation", func(t *testing.T) {
		if err := rdb.HSet(ctx, s.keys.app("app1"), "status", "disabled").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, s.Channel(), msgApp("app1")).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the disabled app to be refused", func() bool { return cached.Check(ctx, byKey).Reason == authz.ReasonAppDisabled })
		if err := rdb.HSet(ctx, s.keys.app("app1"), "status", "active").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, s.Channel(), msgApp("app1")).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the app to be allowed again", func() bool { return cached.Check(ctx, byKey).Allow })
	})
	t.Run("master failover", func(t *testing.T) {
		killed := cl.KillMasterOf(t, s.keys.key("app1-key"))
		t.Cleanup(func() {
			cl.Restart(t, killed)
			if err := cl.WaitHealthy(30 * time.Second); err != nil {
				t.Error(err)
			}
		})
		// While the slot has no master, Checks that need it fail closed;
		// once the replica is promoted they are answered again, and the
		// replay guard writes to the new master.
		start := time.Now()
		waitWithin(t, "a key Check to be answered after failover", time.Minute, func() bool { return direct.Check(ctx, byKey).Allow })
		t.Logf("key Checks answered again %v after the master was killed", time.Since(start).Round(time.Millisecond))
		waitWithin(t, "a signed Check to be answered after failover", time.Minute, func() bool { return cached.Check(ctx, hmacRequest(t, "/after")).Allow })
		waitWithin(t, "the cache to subscribe again", time.Minute, c.Subscribed)
	})
}

// hmacRequest is a freshly signed request for app1-key on API orders.
func hmacRequest(t *testing.T, path string) *authz.Request {
	t.Helper()
	uri := path + "?t=" + time.Now().Format(time.RFC3339Nano)
	h, err := sign.HMAC{Key: "app1-key", Secret: "app1-secret-0001"}.Sign(sign.HMACRequest{Method: "GET", RequestURI: uri, Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	p, q := authz.SplitPath(uri)
	return &authz.Request{Method: "GET", Path: p, RawQuery: q, Host: "h", Protocol: "HTTP/1.1",
		Headers: map[string]string{"authorization": h.Authorization, "date": h.Date}, Context: map[string]string{"api": "orders"}}
}
