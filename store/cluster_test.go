package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/oauth2"
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

// provision writes an app with a key and an AppCode, an API and a grant
// through the admin API, which on a Cluster runs under the admin lock.
func provision(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateApp(ctx, CreateAppParams{ID: "app1", Name: "App 1", Key: "app1-key-0123456789", Secret: "app1-secret-0001", AppCode: "CODE-APP1-0001"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC},
		AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1"}); err != nil {
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

// provisionRaw writes an app with a key and an AppCode, an API and a grant
// with plain pipelined HSETs (no MULTI, no lock), for a client that may
// only do what authzd does (tls_test.go's ACL user); provision does the
// same through the admin API.
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
	pipe.HSet(ctx, s.keys.key(authz.HashAppKey("app1-key-0123456789")), encodeKey(authz.Key{AppID: "app1", Secret: "app1-secret-0001", Status: authz.StatusActive}, testNow))
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

// clusterStore opens a Store on the package's cluster, emptied first.
func clusterStore(t *testing.T) (*Store, *redis.ClusterClient, *redistest.Cluster) {
	t.Helper()
	cl := testCluster(t)
	if err := cl.WaitHealthy(time.Minute); err != nil {
		t.Fatal(err)
	}
	rdb, err := OpenURL(cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	cc := rdb.(*redis.ClusterClient)
	if err := cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		return c.FlushAll(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	return New(rdb, WithTimeout(2*time.Second)), cc, cl
}

// clusterKeys lists every key on every master.
func clusterKeys(t *testing.T, cc *redis.ClusterClient) []string {
	t.Helper()
	var mu sync.Mutex
	var out []string
	if err := cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		keys, err := c.Keys(ctx, "*").Result()
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// The Check path works on a Redis Cluster: the cache's pipelines span
// slots, the admit script's keys share the app's slot, invalidations are
// broadcast, and the loss of a master is survived once its replica takes
// over.
func TestCluster(t *testing.T) {
	s, rdb, cl := clusterStore(t)
	ctx := context.Background()
	provision(t, s)
	c := startCache(t, s, CacheConfig{TTL: time.Hour})
	cached, direct := authz.NewEngine(c), authz.NewEngine(s)

	byCode := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": "APPCODE CODE-APP1-0001"}, Context: map[string]string{"api": "orders"}}
	byKey := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": "app1-key-0123456789"}, Context: map[string]string{"api": "orders"}}
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
		killed := cl.KillMasterOf(t, s.keys.key(authz.HashAppKey("app1-key-0123456789")))
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
	h, err := sign.HMAC{Key: "app1-key-0123456789", Secret: "app1-secret-0001"}.Sign(sign.HMACRequest{Method: "GET", RequestURI: uri, Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	p, q := authz.SplitPath(uri)
	return &authz.Request{Method: "GET", Path: p, RawQuery: q, Host: "h", Protocol: "HTTP/1.1",
		Headers: map[string]string{"authorization": h.Authorization, "date": h.Date}, Context: map[string]string{"api": "orders"}}
}

// Every admin write works on a Cluster, where its records span slots, and
// leaves the same data as on one Redis: what is created is found by the
// Check path, what is revoked is refused, and deleting everything leaves
// no key behind.
func TestClusterAdminWrites(t *testing.T) {
	s, cc, _ := clusterStore(t)
	ctx := context.Background()
	e := authz.NewEngine(s)
	check := func(cred ...string) authz.Decision {
		r := &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{cred[0]: cred[1]}, Context: map[string]string{"api": "orders"}}
		return e.Check(ctx, r)
	}
	a := mustCreateApp(t, s, "a")
	if _, err := s.CreateApp(ctx, CreateAppParams{ID: "a", Name: "again"}); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateApp of a taken id: %v, want ErrExists", err)
	}
	k2, err := s.CreateKey(ctx, CreateKeyParams{AppID: "a", Scopes: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey},
		Access: authz.AccessAuthorized, Route: authz.Route{Host: "api.example.com", PathPrefix: "/orders"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey},
		Access: authz.AccessAuthorized, Route: authz.Route{Host: "api.example.com", PathPrefix: "/v2/orders"}}); err != nil {
		t.Fatal(err)
	}
	if d := check("x-app-key", a.AppKey); d.Reason != authz.ReasonNotAuthorized {
		t.Fatalf("key without a grant: %s, want NotAuthorized", d.Reason)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppLimits(ctx, "orders", "a", authz.Limits{Quota: 1000}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{a.AppKey, k2.AppKey} {
		if d := check("x-app-key", k); !d.Allow {
			t.Fatalf("key %s denied %s: %s", k, d.Reason, d.Message)
		}
	}
	code, err := s.ResetAppCode(ctx, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if d := check("authorization", "APPCODE "+a.AppCode); d.Reason != authz.ReasonInvalidAppCode {
		t.Errorf("old AppCode after reset: %s, want InvalidAppCode", d.Reason)
	}
	if d := check("authorization", "APPCODE "+code); !d.Allow {
		t.Errorf("new AppCode denied %s: %s", d.Reason, d.Message)
	}

	tok := saveTok(t, s, "a", k2.AppKey)
	if err := s.SetAppStatus(ctx, "a", authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	for _, cred := range [][]string{{"x-app-key", a.AppKey}, {"authorization", "APPCODE " + code}} {
		if d := check(cred...); d.Reason != authz.ReasonAppDisabled {
			t.Errorf("%s of a disabled app: %s, want AppDisabled", cred[0], d.Reason)
		}
	}
	if live := liveTokens(t, s, tok); len(live) != 0 {
		t.Errorf("a token outlived the disable of its app")
	}
	if err := s.SetAppStatus(ctx, "a", authz.StatusActive); err != nil {
		t.Fatal(err)
	}
	tok = saveTok(t, s, "a", k2.AppKey)
	if err := s.RevokeKey(ctx, k2.AppKey); err != nil {
		t.Fatal(err)
	}
	if d := check("x-app-key", k2.AppKey); d.Reason != authz.ReasonUnknownAppKey {
		t.Errorf("revoked key: %s, want UnknownAppKey", d.Reason)
	}
	if live := liveTokens(t, s, tok); len(live) != 0 {
		t.Errorf("a token outlived the revocation of its key")
	}
	if err := s.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken("late"), AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(k2.AppKey), TTL: time.Hour}); !errors.Is(err, oauth2.ErrClientGone) {
		t.Errorf("token for a revoked key: %v, want ErrClientGone", err)
	}
	if err := s.SetKeyStatus(ctx, a.AppKey, authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken("off"), AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(a.AppKey), TTL: time.Hour}); !errors.Is(err, oauth2.ErrClientDisabled) {
		t.Errorf("token for a disabled key: %v, want ErrClientDisabled", err)
	}
	if err := s.SetKeyStatus(ctx, a.AppKey, authz.StatusActive); err != nil {
		t.Fatal(err)
	}
	tok = saveTok(t, s, "a", a.AppKey)
	if ok, err := s.DropToken(ctx, tok); err != nil || !ok {
		t.Errorf("DropToken = %v, %v, want true", ok, err)
	}
	if live := liveTokens(t, s, tok); len(live) != 0 {
		t.Errorf("a dropped token still works")
	}
	if err := s.CountAuthFailure(ctx, authz.HashAppKey(a.AppKey), "192.0.2.1", time.Minute); err != nil {
		t.Errorf("CountAuthFailure: %v", err)
	}
	if _, f, err := s.TokenClient(ctx, a.AppKey, "192.0.2.1"); err != nil || f.Key.Count != 1 || f.Source.Count != 1 || f.Key.TTL <= 0 {
		t.Errorf("failure counters after one failure: %+v, %v", f, err)
	}
	saveTok(t, s, "a", a.AppKey)
	if err := s.RevokeGrant(ctx, "orders", "a", ""); err != nil {
		t.Fatal(err)
	}
	if d := check("x-app-key", a.AppKey); d.Reason != authz.ReasonNotAuthorized {
		t.Errorf("revoked grant: %s, want NotAuthorized", d.Reason)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "a", Stage: "TEST"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPI(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// Only the counters of the Checks and of the token endpoint may remain.
	var left []string
	for _, k := range clusterKeys(t, cc) {
		if !strings.HasPrefix(k, "appauthz:rl:") && !strings.HasPrefix(k, "appauthz:oauth2fail:") {
			left = append(left, k)
		}
	}
	if len(left) > 0 {
		t.Errorf("keys left after deleting everything: %v", left)
	}
}

// Admin writers are serialized by the admin lock: of writers racing to
// take the same app_key exactly one wins, and a lock held by someone else
// makes a write fail with what to do.
func TestClusterAdminLock(t *testing.T) {
	s, cc, _ := clusterStore(t)
	ctx := context.Background()
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := s.CreateApp(ctx, CreateAppParams{ID: fmt.Sprintf("racer%d", i), Name: "Racer", Key: "contested-key-0123456789"})
			errs <- err
		}()
	}
	won := 0
	for range writers {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, ErrExists):
			t.Errorf("CreateApp: %v, want nil or ErrExists", err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers took the same app_key, want 1", won)
	}

	if err := cc.Set(ctx, s.keys.adminLock(), "someone-else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := s.CreateApp(short, CreateAppParams{ID: "blocked", Name: "Blocked"})
	if err == nil || !strings.Contains(err.Error(), "admin lock") || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("CreateApp under a held lock: %v, want an admin lock error saying to try again", err)
	}
	if v := cc.Get(ctx, s.keys.adminLock()).Val(); v != "someone-else" {
		t.Fatalf("the lock of another writer was released: %q", v)
	}
	cc.Del(ctx, s.keys.adminLock())
	if _, err := s.CreateApp(ctx, CreateAppParams{ID: "blocked", Name: "Blocked"}); err != nil {
		t.Fatalf("CreateApp once the lock is free: %v", err)
	}
	if n := cc.Exists(ctx, s.keys.adminLock()).Val(); n != 0 {
		t.Errorf("the admin lock is still held after the write")
	}
}

// A token issued while its key is revoked either is refused or ends with
// the key: none that SaveToken accepted outlives the revocation.
func TestClusterTokenRevokeRace(t *testing.T) {
	s, _, _ := clusterStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "a")
	for round := range 20 {
		k, err := s.CreateKey(ctx, CreateKeyParams{AppID: "a"})
		if err != nil {
			t.Fatal(err)
		}
		first := make(chan struct{})
		issued := make(chan []string)
		go func() {
			var hashes []string
			for i := 0; ; i++ {
				h := authz.HashToken(fmt.Sprintf("race-%d-%d", round, i))
				err := s.SaveToken(ctx, oauth2.Token{Hash: h, AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(k.AppKey), TTL: time.Hour})
				if err != nil {
					if !errors.Is(err, oauth2.ErrClientGone) {
						t.Errorf("SaveToken: %v, want nil or ErrClientGone", err)
					}
					issued <- hashes
					return
				}
				hashes = append(hashes, h)
				if i == 0 {
					close(first)
				}
			}
		}()
		<-first
		if err := s.RevokeKey(ctx, k.AppKey); err != nil {
			t.Fatal(err)
		}
		hashes := <-issued
		if live := liveTokens(t, s, hashes...); len(live) != 0 {
			t.Fatalf("round %d: %d of %d tokens outlived the revocation of their key", round, len(live), len(hashes))
		}
	}
}
