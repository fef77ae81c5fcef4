package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// Two replicas share nothing but Redis. With a TTL far beyond the test,
// only the invalidation channel can tell them a key was revoked; both must
// refuse it promptly (the elapsed time is logged: docs/performance.md
// gives the measured figure).
func TestCacheRevocationReachesEveryReplica(t *testing.T) {
	r := startRedis(t)
	url := r.URL()
	shop := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	key := shop["app_key"].(string)
	code := shop["appcode"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "appcode,key", "--access", "authorized")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	replicas := []*daemon{
		startAuthzd(t, url, "--cache-ttl", "1h", "--drain-delay", "0"),
		startAuthzd(t, url, "--cache-ttl", "1h", "--drain-delay", "0"),
	}
	byKey := withAPI(get("http://x/orders", "X-App-Key", key), "orders")
	byCode := withAPI(get("http://x/orders", "Authorization", "APPCODE "+code), "orders")
	for _, d := range replicas {
		d.check(t, byKey).wantAllow(t, "shop") // warm the caches
		d.check(t, byCode).wantAllow(t, "shop")
	}

	refused := func(step string, req func() *outcome, status int, reason string) {
		t.Helper()
		start := time.Now()
		deadline := start.Add(10 * time.Second) // a hang guard, not a target
		for {
			o := req()
			if !o.allowed {
				o.wantDeny(t, status, reason)
				t.Logf("%s: refused %v after the write returned", step, time.Since(start))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still allowed after 10s: the cache missed the invalidation", step)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctl(t, url, "key", "revoke", key)
	for i, d := range replicas {
		refused("revoked key, replica "+string(rune('A'+i)), func() *outcome { return d.check(t, byKey) }, 401, "UnknownAppKey")
	}
	ctl(t, url, "grant", "revoke", "--api", "orders", "--app", "shop")
	for i, d := range replicas {
		refused("revoked grant, replica "+string(rune('A'+i)), func() *outcome { return d.check(t, byCode) }, 403, "NotAuthorized")
	}
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	ctl(t, url, "app", "disable", "shop")
	for i, d := range replicas {
		refused("disabled app, replica "+string(rune('A'+i)), func() *outcome { return d.check(t, byCode) }, 403, "AppDisabled")
	}
}

// When Redis goes away, cached credentials are served for --cache-stale,
// unknown ones fail closed at once, and readiness drops so Envoy prefers
// healthy replicas; after the window everything fails closed.
func TestCacheServesStaleWhileRedisDown(t *testing.T) {
	needsOneServer(t, "the test stops and restarts Redis")
	r := redistest.Start(t)
	url := r.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	other := ctl(t, url, "app", "create", "--name", "Other", "--id", "other")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authenticated")
	d := startAuthzd(t, url, "--cache-stale", "2s", "--redis-timeout", "200ms", "--drain-delay", "0")
	cached := withAPI(get("http://x/orders", "X-App-Key", key), "orders")
	d.check(t, cached).wantAllow(t, "shop")

	r.Stop()
	d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 10*time.Second)
	if s := d.httpGet(t, "/readyz"); s != 503 {
		t.Errorf("/readyz = %d with Redis down, want 503", s)
	}
	d.check(t, withAPI(get("http://x/orders", "X-App-Key", other), "orders")).wantDeny(t, 503, "StoreUnavailable")
	// The window counts from the loss of the subscription, which the
	// health wait above already saw; the first Check may or may not fall
	// inside it on a slow machine, so only the end state is asserted.
	deadline := time.Now().Add(15 * time.Second)
	for {
		o := d.check(t, cached)
		if !o.allowed {
			o.wantDeny(t, 503, "StoreUnavailable")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a cached key was still served 15s after Redis went away with --cache-stale 2s")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Redis comes back empty: the cache is flushed on resubscribing, so
	// the key, gone with the data, is refused.
	r.Restart(t)
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 10*time.Second)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authenticated")
	d.check(t, cached).wantDeny(t, 401, "UnknownAppKey")
}

// With a fresh cache and Redis gone, a key cached a moment ago is still
// served (the point of --cache-stale): this is the behaviour
// TestRedisDownFailsClosedAndRecovers covers with --cache=false.
func TestCacheStaleServesCachedKey(t *testing.T) {
	needsOneServer(t, "the test stops Redis")
	r := redistest.Start(t)
	url := r.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authenticated")
	d := startAuthzd(t, url, "--cache-stale", "1h", "--drain-delay", "0")
	req := withAPI(get("http://x/orders", "X-App-Key", key), "orders")
	d.check(t, req).wantAllow(t, "shop")
	r.Stop()
	d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 10*time.Second)
	d.check(t, req).wantAllow(t, "shop")
}

// A key revoked right as Redis comes back is refused at once, by the key
// method and by HMAC: a cached record is served stale only when Redis
// fails the Check at hand, never because it failed a moment ago, and
// nothing cached before a resubscription is served after it. Redis comes
// back with its data (restored from a snapshot, as from its AOF), the key
// is revoked before or while authzd resubscribes, and the next Checks are
// refused.
func TestCacheRevocationRightAsRedisReturns(t *testing.T) {
	needsOneServer(t, "the test stops and restarts Redis")
	r := redistest.Start(t)
	url := r.URL()
	keyID := ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)["key_id"].(string)
	ctl(t, url, "api", "create", "--id", "sig", "--methods", "key,hmac", "--access", "authenticated")
	d := startAuthzd(t, url, "--cache-stale", "1h", "--cache-ttl", "1h", "--drain-delay", "0")
	byKey := withAPI(get("http://x/orders", "X-App-Key", sigKey), "sig")
	signed := func() extauthz.HTTPRequest {
		return withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/orders?n="+strconv.FormatInt(time.Now().UnixNano(), 10), nil), "sig")
	}
	d.check(t, byKey).wantAllow(t, "signer")
	d.check(t, signed()).wantAllow(t, "signer")

	snap := snapshotRedis(t, r.Client(t))
	r.Stop()
	d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 10*time.Second)
	d.check(t, byKey).wantAllow(t, "signer") // the stale window, as designed

	r.Restart(t)
	restoreRedis(t, r.Client(t), snap)
	ctl(t, url, "key", "revoke", keyID)
	d.check(t, byKey).wantDeny(t, 401, "UnknownAppKey")
	d.check(t, signed()).wantDeny(t, 401, "UnknownAppKey")
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 10*time.Second)
	d.check(t, byKey).wantDeny(t, 401, "UnknownAppKey")
	d.check(t, signed()).wantDeny(t, 401, "UnknownAppKey")
}

// snapshotRedis DUMPs every key of rdb with its TTL.
func snapshotRedis(t *testing.T, rdb *redis.Client) map[string][2]string {
	t.Helper()
	ctx := t.Context()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	snap := map[string][2]string{}
	for _, k := range keys {
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("DUMP %s: %v", k, err)
		}
		ttl := rdb.PTTL(ctx, k).Val()
		snap[k] = [2]string{v, strconv.FormatInt(max(int64(ttl/time.Millisecond), 0), 10)}
	}
	return snap
}

// restoreRedis writes a snapshot back into an empty Redis.
func restoreRedis(t *testing.T, rdb *redis.Client, snap map[string][2]string) {
	t.Helper()
	ctx := t.Context()
	for k, v := range snap {
		ms, _ := strconv.ParseInt(v[1], 10, 64)
		if err := rdb.Restore(ctx, k, time.Duration(ms)*time.Millisecond, v[0]).Err(); err != nil {
			t.Fatalf("RESTORE %s: %v", k, err)
		}
	}
}
