package e2e

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// world is the provisioning shared by the core end-to-end tests, done
// through the real CLI.
type world struct {
	redis              testRedis
	d                  *daemon
	code, key          string // app "shop"
	keyID              string // the key id of key
	otherKey           string // app "other", no grant
	lapsedKey          string // app "lapsed", grant expired
	stagedKey          string // app "staged", grant on TEST only
	shopSecondKeyToDel string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{redis: startRedis(t)}
	url := w.redis.URL()
	shop := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	w.code, w.key, w.keyID = shop["appcode"].(string), shop["app_key"].(string), shop["key_id"].(string)
	w.otherKey = ctl(t, url, "app", "create", "--name", "Other", "--id", "other")["app_key"].(string)
	w.lapsedKey = ctl(t, url, "app", "create", "--name", "Lapsed", "--id", "lapsed")["app_key"].(string)
	w.stagedKey = ctl(t, url, "app", "create", "--name", "Staged", "--id", "staged")["app_key"].(string)
	w.shopSecondKeyToDel = ctl(t, url, "key", "create", "--app", "shop")["app_key"].(string)

	ctl(t, url, "api", "create", "--id", "orders", "--methods", "appcode,key", "--appcode-mode", "header-query", "--access", "authorized")
	ctl(t, url, "api", "create", "--id", "hdr", "--methods", "appcode,key", "--appcode-mode", "header", "--access", "authenticated")
	ctl(t, url, "api", "create", "--id", "nocode", "--methods", "appcode,key", "--appcode-mode", "disabled", "--access", "authenticated")
	ctl(t, url, "api", "create", "--id", "routed", "--methods", "key", "--access", "authenticated", "--host", "api.example.com", "--path-prefix", "/routed")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "shop")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "staged", "--stage", "TEST")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "lapsed", "--expires", time.Now().Add(2*time.Second).UTC().Format(time.RFC3339))
	w.d = startAuthzd(t, url)
	return w
}

func TestAppCodeAndKeyEndToEnd(t *testing.T) {
	w := newWorld(t)
	d := w.d

	t.Run("appcode header", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/orders/1", "Authorization", "APPCODE "+w.code), "orders"))
		o.wantAllow(t, "shop")
		if !slices.Contains(o.removed, "authorization") {
			t.Errorf("authorization not removed: %v", o.removed)
		}
		if o.set["x-appauthz-method"] != "appcode" || o.set["x-appauthz-api"] != "orders" || o.set["x-appauthz-app-name"] != "Shop" {
			t.Errorf("identity headers: %v", o.set)
		}
		if _, ok := o.set["x-appauthz-key"]; ok {
			t.Errorf("x-appauthz-key set for an AppCode: %v", o.set)
		}
	})
	for _, name := range []string{"AppCode", "appcode", "APPCODE", "appCode", "APPCode"} {
		t.Run("appcode query "+name, func(t *testing.T) {
			o := d.check(t, withAPI(get("http://api.example.com/orders?x=1&"+name+"="+w.code), "orders"))
			o.wantAllow(t, "shop")
			if !slices.Equal(o.queryGone, []string{name}) {
				t.Errorf("query params removed = %v, want [%s]", o.queryGone, name)
			}
		})
	}
	t.Run("appcode query refused in header mode", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/x?AppCode="+w.code), "hdr")).wantDeny(t, 401, "AppCodeInQueryNotAllowed")
		d.check(t, withAPI(get("http://api.example.com/x", "Authorization", "APPCODE "+w.code), "hdr")).wantAllow(t, "shop")
	})
	t.Run("appcode ignored in disabled mode", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/x", "Authorization", "APPCODE "+w.code), "nocode"))
		o.wantDeny(t, 401, "MissingCredential")
		if len(o.denyHeader["www-authenticate"]) == 0 {
			t.Errorf("401 without www-authenticate: %v", o.denyHeader)
		}
		d.check(t, withAPI(get("http://api.example.com/x?appcode="+w.code), "nocode")).wantDeny(t, 401, "MissingCredential")
	})
	t.Run("key header", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.key), "orders"))
		o.wantAllow(t, "shop")
		if !slices.Contains(o.removed, "x-app-key") || o.set["x-appauthz-key"] != w.keyID || !strings.HasPrefix(w.keyID, "kid_") || o.set["x-appauthz-method"] != "key" {
			t.Errorf("removed %v set %v", o.removed, o.set)
		}
	})
	t.Run("key query", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/orders?appKey="+w.key+"&page=2"), "orders"))
		o.wantAllow(t, "shop")
		if !slices.Equal(o.queryGone, []string{"appKey"}) {
			t.Errorf("query removed %v", o.queryGone)
		}
	})
	t.Run("unknown credentials", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", "no-such-key"), "orders")).wantDeny(t, 401, "UnknownAppKey")
		d.check(t, withAPI(get("http://api.example.com/orders", "Authorization", "APPCODE 0000"), "orders")).wantDeny(t, 401, "InvalidAppCode")
		d.check(t, withAPI(get("http://api.example.com/orders"), "orders")).wantDeny(t, 401, "MissingCredential")
	})
	t.Run("disabled app, then enabled", func(t *testing.T) {
		ctl(t, w.redis.URL(), "app", "disable", "shop")
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.key), "orders")).wantDeny(t, 403, "AppDisabled")
		d.check(t, withAPI(get("http://api.example.com/orders", "Authorization", "APPCODE "+w.code), "orders")).wantDeny(t, 403, "AppDisabled")
		ctl(t, w.redis.URL(), "app", "enable", "shop")
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.key), "orders")).wantAllow(t, "shop")
	})
	t.Run("revoked key", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.shopSecondKeyToDel), "orders")).wantAllow(t, "shop")
		ctl(t, w.redis.URL(), "key", "revoke", w.shopSecondKeyToDel)
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.shopSecondKeyToDel), "orders")).wantDeny(t, 401, "UnknownAppKey")
	})
	t.Run("missing grant", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.otherKey), "orders")).wantDeny(t, 403, "NotAuthorized")
	})
	t.Run("other stage", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.stagedKey), "orders")).wantDeny(t, 403, "NotAuthorized")
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.stagedKey), "orders", "TEST")).wantAllow(t, "staged")
	})
	t.Run("expired grant", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			o := d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.lapsedKey), "orders"))
			if !o.allowed {
				o.wantDeny(t, 403, "GrantExpired")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("grant never expired")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("unknown API", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", w.key), "nope")).wantDeny(t, 403, "UnknownAPI")
	})
	t.Run("route table", func(t *testing.T) {
		o := d.check(t, get("http://api.example.com/routed/7", "X-App-Key", w.otherKey))
		o.wantAllow(t, "other")
		if o.set["x-appauthz-api"] != "routed" {
			t.Errorf("api = %q, want routed", o.set["x-appauthz-api"])
		}
		d.check(t, get("http://elsewhere.example.com/routed/7", "X-App-Key", w.otherKey)).wantDeny(t, 403, "UnknownAPI")
	})
	t.Run("spoofed identity headers", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/orders", "Authorization", "APPCODE "+w.code,
			"X-Appauthz-App-Id", "admin", "X-Appauthz-Key", "stolen", "X-Appauthz-Role", "root"), "orders"))
		o.wantAllow(t, "shop")
		if !slices.Contains(o.removed, "x-appauthz-key") || !slices.Contains(o.removed, "x-appauthz-role") {
			t.Errorf("spoofed headers not removed: %v", o.removed)
		}
		if o.set["x-appauthz-app-id"] != "shop" {
			t.Errorf("spoofed app id survived: %v", o.set)
		}
	})
	t.Run("no secret in logs", func(t *testing.T) {
		logs := d.logs.String()
		if !strings.Contains(logs, "UnknownAppKey") {
			t.Fatalf("deny decisions not logged:\n%s", logs)
		}
		if strings.Contains(logs, w.code) {
			t.Errorf("an AppCode appears in the logs")
		}
		for _, k := range []string{w.key, w.otherKey, w.lapsedKey, w.stagedKey, w.shopSecondKeyToDel} {
			if strings.Contains(logs, k) {
				t.Errorf("an app_key (%s…) appears in the logs", k[:4])
			}
		}
	})
}

func TestRedisDownFailsClosedAndRecovers(t *testing.T) {
	needsOneServer(t, "the test stops and restarts Redis")
	w := newWorld(t)
	// Without the cache: with it, cached credentials are served stale for
	// --cache-stale after Redis goes away (cache_test.go covers that path).
	d := startAuthzd(t, w.redis.URL(), "--cache=false", "--drain-delay", "0")
	req := withAPI(get("http://api.example.com/orders", "X-App-Key", w.key), "orders")
	d.check(t, req).wantAllow(t, "shop")
	if s := d.httpGet(t, "/readyz"); s != 200 {
		t.Fatalf("/readyz = %d with Redis up", s)
	}

	w.redis.Stop()
	d.check(t, req).wantDeny(t, 503, "StoreUnavailable")
	d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 10*time.Second)
	if s := d.httpGet(t, "/readyz"); s != 503 {
		t.Errorf("/readyz = %d with Redis down, want 503", s)
	}
	if s := d.httpGet(t, "/healthz"); s != 200 {
		t.Errorf("/healthz = %d, want 200 (the process is alive)", s)
	}

	// The restarted Redis is empty (no persistence in tests): provision
	// again and the same daemon must serve without a restart of its own.
	w.redis.Restart(t)
	url := w.redis.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authenticated")
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 10*time.Second)
	d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", key), "orders")).wantAllow(t, "shop")
}

func TestShutdownFlipsHealth(t *testing.T) {
	w := newWorld(t)
	// The harness turns the drain off; this test is about the drain.
	d := startAuthzd(t, w.redis.URL(), "--drain-delay", "2s")
	d.cmd.Process.Signal(syscall.SIGTERM)
	// From SIGTERM until exit the daemon must answer NOT_SERVING (so Envoy
	// stops sending before the listener closes) and never SERVING again.
	sawNotServing := false
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			if code := d.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("authzd exit code %d after SIGTERM", code)
			}
			if !sawNotServing {
				t.Fatalf("authzd exited without reporting NOT_SERVING first")
			}
			return
		default:
		}
		switch s := d.healthStatus(); {
		case s == healthpb.HealthCheckResponse_NOT_SERVING:
			sawNotServing = true
		case s == healthpb.HealthCheckResponse_SERVING && sawNotServing:
			t.Fatalf("health went back to SERVING during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("authzd did not exit within 15s of SIGTERM")
}
