package e2e

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// rlWorld: apps and limited APIs provisioned through the real CLI, and
// two authzd processes sharing one real Redis.
type rlWorld struct {
	redis           testRedis
	url             string
	a, b            *daemon
	shopKey, vipKey string
	plainKey        string
}

func newRLWorld(t *testing.T) *rlWorld {
	t.Helper()
	w := &rlWorld{redis: startRedis(t)}
	w.url = w.redis.URL()
	w.shopKey = ctl(t, w.url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	w.vipKey = ctl(t, w.url, "app", "create", "--name", "VIP", "--id", "vip")["app_key"].(string)
	w.plainKey = ctl(t, w.url, "app", "create", "--name", "Plain", "--id", "plain")["app_key"].(string)
	ctl(t, w.url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)
	// 50 per day with a burst of 50: 50 pass at once, the next one only
	// after 1728 s, far beyond the test's run time.
	ctl(t, w.url, "api", "create", "--id", "rated", "--methods", "key", "--access", "authenticated", "--rate", "50/d")
	ctl(t, w.url, "api", "create", "--id", "quota", "--methods", "key,hmac", "--access", "authenticated", "--quota", "3/day")
	ctl(t, w.url, "limit", "set", "--api", "quota", "--app", "vip", "--quota", "5/day")
	w.a, w.b = startAuthzd(t, w.url, "--drain-delay", "0"), startAuthzd(t, w.url, "--drain-delay", "0")
	return w
}

// responseHeaders are the headers a decision adds to what the client
// sees: the upstream response on allow, the local reply on deny.
func (o *outcome) responseHeaders() map[string]string {
	out := map[string]string{}
	if o.allowed {
		for _, h := range o.resp.GetOkResponse().GetResponseHeadersToAdd() {
			out[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		return out
	}
	for k, v := range o.denyHeader {
		out[k] = v[0]
	}
	return out
}

func intHeader(t *testing.T, h map[string]string, name string) int {
	t.Helper()
	n, err := strconv.Atoi(h[name])
	if err != nil {
		t.Fatalf("header %s = %q, want an integer (headers %v)", name, h[name], h)
	}
	return n
}

func TestRateLimitEndToEnd(t *testing.T) {
	w := newRLWorld(t)

	t.Run("200 parallel Checks on two authzd against 50: exactly 50 pass", func(t *testing.T) {
		var allowed, limited atomic.Int32
		var wg sync.WaitGroup
		for i := range 200 {
			d := w.a
			if i%2 == 1 {
				d = w.b
			}
			wg.Go(func() {
				o := d.check(t, withAPI(get("http://x/rated", "X-App-Key", w.shopKey), "rated"))
				h := o.responseHeaders()
				switch {
				case o.allowed:
					allowed.Add(1)
					if h["ratelimit-limit"] != "50" {
						t.Errorf("allow: ratelimit-limit %q, want 50", h["ratelimit-limit"])
					}
					// Each Check reads the clock when it starts, so concurrent
					// ones may see the same place in the bucket: only the range
					// is certain.
					if r, err := strconv.Atoi(h["ratelimit-remaining"]); err != nil || r < 0 || r >= 50 {
						t.Errorf("allow: ratelimit-remaining %q", h["ratelimit-remaining"])
					}
				case o.status == 429 && o.reason == "RateLimited":
					limited.Add(1)
					if h["retry-after"] == "" || h["ratelimit-remaining"] != "0" || h["ratelimit-limit"] != "50" || h["ratelimit-reset"] == "" {
						t.Errorf("429 headers: %v", h)
					}
				default:
					t.Errorf("unexpected outcome %d %s", o.status, o.reason)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 50 || limited.Load() != 150 {
			t.Fatalf("allowed %d, rate limited %d; want exactly 50 and 150", allowed.Load(), limited.Load())
		}
		// Other apps have their own bucket on the same API.
		w.b.check(t, withAPI(get("http://x/rated", "X-App-Key", w.plainKey), "rated")).wantAllow(t, "plain")
	})

	t.Run("daily quota, the app's own beats the API's, headers on both outcomes", func(t *testing.T) {
		// Unauthenticated traffic is never counted against an app.
		for range 5 {
			w.a.check(t, withAPI(get("http://x/q", "X-App-Key", "no-such-key"), "quota")).wantDeny(t, 401, "UnknownAppKey")
		}
		for app, c := range map[string]struct {
			key   string
			quota int
		}{"plain": {w.plainKey, 3}, "vip": {w.vipKey, 5}} {
			for i := range c.quota {
				o := w.a.check(t, withAPI(get("http://x/q", "X-App-Key", c.key), "quota"))
				o.wantAllow(t, app)
				h := o.responseHeaders()
				if intHeader(t, h, "ratelimit-limit") != c.quota || intHeader(t, h, "ratelimit-remaining") != c.quota-1-i {
					t.Errorf("%s request %d: headers %v", app, i+1, h)
				}
			}
			before := time.Now().UTC()
			o := w.b.check(t, withAPI(get("http://x/q", "X-App-Key", c.key), "quota"))
			after := time.Now().UTC()
			o.wantDeny(t, 429, "RateLimited")
			h := o.responseHeaders()
			// The quota starts again at the next 00:00 UTC.
			lo := int(nextMidnight(after).Sub(after) / time.Second)
			hi := int(nextMidnight(before).Sub(before)/time.Second) + 1
			if ra := intHeader(t, h, "retry-after"); ra < lo || ra > hi || intHeader(t, h, "ratelimit-reset") != ra || h["ratelimit-remaining"] != "0" {
				t.Errorf("%s over quota: headers %v; want retry-after = ratelimit-reset in [%d, %d]", app, h, lo, hi)
			}
		}
	})

	t.Run("a limit set while authzd runs applies at once", func(t *testing.T) {
		ctl(t, w.url, "limit", "set", "--api", "quota", "--app", "plain", "--rate", "none") // unlimited
		for range 3 {
			o := w.a.check(t, withAPI(get("http://x/q", "X-App-Key", w.plainKey), "quota"))
			o.wantAllow(t, "plain")
			if h := o.responseHeaders(); len(h) != 0 {
				t.Errorf("unlimited app got %v", h)
			}
		}
		ctl(t, w.url, "limit", "delete", "--api", "quota", "--app", "plain")
		w.a.check(t, withAPI(get("http://x/q", "X-App-Key", w.plainKey), "quota")).wantDeny(t, 429, "RateLimited")
	})
}

func nextMidnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

// Redis refuses writes (CLIENT PAUSE WRITE blocks scripts, not reads): the
// credentials can be read, the limits cannot be charged.
func TestRateLimitRedisFailure(t *testing.T) {
	needsOneServer(t, "the test pauses the writes of one redis-server")
	r := redistest.Start(t)
	url := r.URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)
	ctl(t, url, "api", "create", "--id", "limited", "--methods", "key,hmac", "--access", "authenticated", "--rate", "100/s")
	closed := startAuthzd(t, url, "--redis-timeout", "300ms", "--drain-delay", "0")
	open := startAuthzd(t, url, "--redis-timeout", "300ms", "--drain-delay", "0", "--ratelimit-fail-open")

	rdb := r.Client(t)
	ctx := context.Background()
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Do(context.Background(), "CLIENT", "UNPAUSE") })

	req := withAPI(get("http://x/l", "X-App-Key", key), "limited")
	closed.check(t, req).wantDeny(t, 503, "StoreUnavailable")
	o := open.check(t, req)
	o.wantAllow(t, "shop")
	if h := o.responseHeaders(); len(h) != 0 {
		t.Errorf("a request let through unlimited carries %v", h)
	}
	// The replay guard still fails closed with the flag.
	signed := func() extauthz.HTTPRequest {
		return withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://x/l", nil), "limited")
	}
	open.check(t, signed()).wantDeny(t, 503, "StoreUnavailable")
	// Authentication is still enforced.
	open.check(t, withAPI(get("http://x/l", "X-App-Key", "nope"), "limited")).wantDeny(t, 401, "UnknownAppKey")

	if err := rdb.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*daemon{closed, open} {
		o := d.check(t, req)
		o.wantAllow(t, "shop")
		if o.responseHeaders()["ratelimit-limit"] != "100" {
			t.Errorf("after Redis recovered: headers %v", o.responseHeaders())
		}
	}
	open.check(t, signed()).wantAllow(t, "signer")
}
