package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// The suite runs against one redis-server by default. Under
// APPAUTHZ_E2E_REDIS=cluster (`make test-cluster`) every test that
// provisions through startRedis gets a fresh Redis Cluster of three masters
// instead, so the same flows prove the admin writes, the Check path and
// token issue on a Cluster. Tests that stop or pause Redis, or need a
// Sentinel, skip there (needsOneServer). TestClusterEndToEnd runs in both
// modes.

// clusterMode reports whether APPAUTHZ_E2E_REDIS asks for a Cluster.
func clusterMode() bool { return os.Getenv("APPAUTHZ_E2E_REDIS") == "cluster" }

// testRedis is the Redis an end-to-end test provisions and runs against.
type testRedis interface {
	URL() string // the --redis-url of authzd and authzctl
	Stop()
	Restart(t testing.TB)
	// client routes each command by key (one client, or a Cluster client).
	client(t testing.TB) redis.UniversalClient
	// masters are the clients of every node holding data, for commands
	// that read the whole keyspace (SCAN, KEYS).
	masters(t testing.TB) []*redis.Client
}

// startRedis starts the Redis of one test: a redis-server, or a Cluster
// under APPAUTHZ_E2E_REDIS=cluster. Either is stopped when t ends.
func startRedis(t testing.TB) testRedis {
	t.Helper()
	if !clusterMode() {
		return oneServer{redistest.Start(t)}
	}
	// No replicas: a fresh cluster per test starts in about a second, and
	// only TestClusterEndToEnd kills a master.
	return clusterRedis{redistest.StartCluster(t, 3, 0)}
}

// needsOneServer skips t under APPAUTHZ_E2E_REDIS=cluster: the test stops,
// pauses or fronts with Sentinel one redis-server, which a Cluster has no
// single counterpart of. The default run skips nothing.
func needsOneServer(t *testing.T, why string) {
	t.Helper()
	if clusterMode() {
		t.Skipf("APPAUTHZ_E2E_REDIS=cluster: %s", why)
	}
}

type oneServer struct{ *redistest.Server }

func (s oneServer) client(t testing.TB) redis.UniversalClient { return s.Client(t) }
func (s oneServer) masters(t testing.TB) []*redis.Client      { return []*redis.Client{s.Client(t)} }

type clusterRedis struct{ *redistest.Cluster }

// Restart is not offered: tests that stop Redis skip in cluster mode.
func (c clusterRedis) Restart(t testing.TB) {
	t.Helper()
	t.Fatal("a test that restarts Redis must call needsOneServer first")
}

func (c clusterRedis) client(t testing.TB) redis.UniversalClient { return c.Client(t) }

func (c clusterRedis) masters(t testing.TB) []*redis.Client {
	t.Helper()
	cc := c.Client(t)
	ctx := context.Background()
	// Reads of the slot map are lazy: make sure it is loaded.
	if err := cc.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var out []*redis.Client
	err := cc.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
		out = append(out, redis.NewClient(&redis.Options{Addr: m.Options().Addr}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, m := range out {
			m.Close()
		}
	})
	return out
}

// TestClusterEndToEnd runs a representative flow through the real
// authzctl and authzd on a Redis Cluster of three masters with a replica
// each: every admin write spans slots, and the daemon keeps answering
// once a master is killed and its replica takes over.
func TestClusterEndToEnd(t *testing.T) {
	cl := redistest.StartCluster(t, 3, 1)
	url := cl.URL()
	shop := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	key, secret := shop["app_key"].(string), shop["app_secret"].(string)
	spare := ctl(t, url, "key", "create", "--app", "shop")["app_key"].(string)
	ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key,hmac,oauth2", "--access", "authorized")
	ctl(t, url, "api", "create", "--id", "rated", "--methods", "key", "--access", "authenticated", "--rate", "3/d")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "signer")
	d := startAuthzd(t, url, "--drain-delay", "0s")

	byKey := func(k string) *outcome {
		return d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", k), "orders"))
	}
	n := 0
	signed := func() *outcome {
		n++
		return d.check(t, withAPI(hmacReq(t, sign.HMAC{}, "GET", fmt.Sprintf("http://api.example.com/orders?n=%d", n), nil), "orders"))
	}

	byKey(key).wantAllow(t, "shop")
	byKey(spare).wantAllow(t, "shop")
	r := withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://api.example.com/orders/once", nil), "orders")
	d.check(t, r).wantAllow(t, "signer")
	d.check(t, r).wantDeny(t, 401, "ReplayedRequest")
	for range 3 {
		d.check(t, withAPI(get("http://x/r", "X-App-Key", key), "rated")).wantAllow(t, "shop")
	}
	d.check(t, withAPI(get("http://x/r", "X-App-Key", key), "rated")).wantDeny(t, 429, "RateLimited")

	tr := d.post(t, "/oauth2/token", grant(""), key, secret)
	if tr.status != 200 || tr.str("access_token") == "" {
		t.Fatalf("token: %d %v", tr.status, tr.body)
	}
	tok := tr.str("access_token")
	d.check(t, bearer("GET", tok)).wantAllow(t, "shop")

	ctl(t, url, "key", "revoke", key)
	byKey(key).wantDeny(t, 401, "UnknownAppKey")
	d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
	byKey(spare).wantAllow(t, "shop")

	// Replicas must hold the data before a master is killed.
	cc := cl.Client(t)
	if err := cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
		return c.Do(ctx, "WAIT", 1, 5000).Err()
	}); err != nil {
		t.Fatal(err)
	}
	// Kill the master of the signer's slot, where a signed Check records
	// its nonce: Checks fail closed until the replica is promoted, then
	// are answered again by the same daemon.
	killed := cl.KillMasterOf(t, "appauthz:app:{signer}")
	t.Cleanup(func() { cl.Restart(t, killed) })
	start := time.Now()
	waitFor(t, time.Minute, "signed Checks to be answered after the master was killed", func() bool {
		o := signed()
		if !o.allowed && o.reason != "StoreUnavailable" {
			o.wantDeny(t, 503, "StoreUnavailable") // fail closed, never another answer
		}
		return o.allowed
	})
	t.Logf("signed Checks answered again %v after the master was killed", time.Since(start).Round(time.Millisecond))
	// Admin writes work again too, and take effect.
	if err := cl.WaitHealthy(time.Minute); err != nil {
		t.Fatal(err)
	}
	ctl(t, url, "app", "disable", "signer")
	waitFor(t, 10*time.Second, "the disabled app to be refused", func() bool { return signed().reason == "AppDisabled" })
}
