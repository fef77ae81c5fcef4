package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/sign"
	"github.com/appauthz/appauthz/store/redistest"
)

// noAPI is an API id no record can have: a Lookup with it fetches
// neither an API nor the route table.
const noAPI = "!"

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// testClock is a settable clock for TTLs and staleness.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// startCache runs a Cache over s with its subscriber, and waits until the
// subscription is live.
func startCache(t *testing.T, s *Store, cfg CacheConfig, opts ...CacheOption) *Cache {
	t.Helper()
	c, err := NewCache(s, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the invalidation subscription", c.Subscribed)
	return c
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, what, 10*time.Second, cond)
}

// waitWithin is waitFor with a longer guard, for a cluster failover.
func waitWithin(t *testing.T, what string, guard time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With a warm cache, AppCode and key Checks cost no round trip, and a
// signature or a limit costs exactly one (nonce and limits together).
func TestCacheCheckRoundTrips(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	for _, api := range []authz.API{
		{ID: "named", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC}, AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true},
		{ID: "routed", Methods: []authz.Method{authz.MethodKey}, Access: authz.AccessAuthorized, Route: authz.Route{PathPrefix: "/routed"}},
		{ID: "limited", Methods: []authz.Method{authz.MethodKey, authz.MethodHMAC}, Access: authz.AccessAuthorized, ReplayProtection: true,
			Limits: authz.Limits{Rate: authz.RateLimit{Count: 1000, Period: time.Second}, Quota: 1000}},
	} {
		if err := s.CreateAPI(ctx, api); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGrant(ctx, GrantInfo{API: api.ID, AppID: "app1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	c := startCache(t, s, CacheConfig{})
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)
	e := authz.NewEngine(c)

	hmacReq := func(path string) *authz.Request {
		signed, err := sign.HMAC{Key: a.AppKey, Secret: a.AppSecret, Now: time.Now()}.Sign(sign.HMACRequest{Method: "GET", RequestURI: path, Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Request{Method: "GET", Path: path, Host: "h", Protocol: "HTTP/1.1",
			Headers: map[string]string{"authorization": signed.Authorization, "date": signed.Date}, Context: map[string]string{"api": "named"}}
	}
	tests := []struct {
		name       string
		req        func(i int) *authz.Request
		cold, warm int64
		allow      bool
	}{
		{"appcode", func(int) *authz.Request {
			return &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": "APPCODE " + a.AppCode}, Context: map[string]string{"api": "named"}}
		}, 2, 0, true},
		{"key via route table", func(int) *authz.Request {
			return &authz.Request{Method: "GET", Path: "/routed/1", Headers: map[string]string{"x-app-key": a.AppKey}}
		}, 2, 0, true},
		{"hmac with replay guard", func(i int) *authz.Request { return hmacReq("/h" + strconv.Itoa(i)) }, 3, 1, true},
		{"key with limits", func(int) *authz.Request {
			return &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": a.AppKey}, Context: map[string]string{"api": "limited"}}
		}, 3, 1, true},
		{"unknown key", func(int) *authz.Request {
			return &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": "nope"}, Context: map[string]string{"api": "named"}}
		}, 1, 0, false},
	}
	for _, tc := range tests {
		c.Flush()
		for i, want := range []int64{tc.cold, tc.warm, tc.warm} {
			hook.Reset()
			d := e.Check(ctx, tc.req(i))
			if d.Allow != tc.allow {
				t.Fatalf("%s #%d: allow = %v (%s: %s)", tc.name, i, d.Allow, d.Reason, d.Message)
			}
			if n := hook.RoundTrips(); n != want {
				t.Errorf("%s #%d: %d Redis round trips, want %d", tc.name, i, n, want)
			}
		}
	}
}

// The cache answers exactly what the store answers.
func TestCacheAnswersLikeStore(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	mustCreateApp(t, s, "app2")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Access: authz.AccessAuthorized, Route: authz.Route{PathPrefix: "/o"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", ExpiresAt: new(testNow.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppLimits(ctx, "orders", "app2", authz.Limits{Quota: 5}); err != nil {
		t.Fatal(err)
	}
	c := startCache(t, s, CacheConfig{})
	lqs := []authz.LookupQuery{
		{APIID: "orders", AppKeys: []string{a.AppKey, "nope", "bad key!"}, AppCodeHashes: []string{authz.HashAppCode(a.AppCode), authz.HashAppCode("x"), "nothex"}},
		{AppKeys: []string{"app2-key-0123456789"}},
		{APIID: "missing"},
	}
	pqs := []authz.PrincipalQuery{
		{APIID: "orders", AppIDs: []string{"app1", "app2", "ghost"}, GrantAPI: "orders", LimitAPI: "orders"},
		{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: "TEST", LimitAPI: "bad api"},
	}
	for pass := range 2 { // cold, then warm
		for i, q := range lqs {
			want, err := s.Lookup(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Lookup(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !sameLookup(got, want) {
				t.Errorf("pass %d lookup %d: cache %+v, store %+v", pass, i, got, want)
			}
		}
		for i, q := range pqs {
			want, err := s.Principal(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Principal(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !samePrincipal(got, want) {
				t.Errorf("pass %d principal %d: cache %+v, store %+v", pass, i, got, want)
			}
		}
	}
}

func sameLookup(a, b authz.LookupResult) bool {
	return equalPtr(a.API, b.API) && len(a.Routes) == len(b.Routes) &&
		sameMap(a.Keys, b.Keys) && sameMap(a.AppCodes, b.AppCodes) && sameMap(a.Tokens, b.Tokens)
}

func samePrincipal(a, b authz.PrincipalResult) bool {
	return equalPtr(a.API, b.API) && sameMap(a.Apps, b.Apps) && sameMap(a.Grants, b.Grants) && sameMap(a.Limits, b.Limits)
}

func equalPtr[T any](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return sameJSON(*a, *b)
}

func sameMap[T any](a, b map[string]*T) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !equalPtr(v, b[k]) {
			return false
		}
	}
	return true
}

// Every write reaches a running cache through the channel: the next
// lookup sees it without waiting for a TTL.
func TestCacheInvalidation(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Access: authz.AccessAuthorized}); err != nil {
		t.Fatal(err)
	}
	// A TTL far beyond the test: only invalidation can refresh.
	c := startCache(t, s, CacheConfig{TTL: time.Hour, NegativeTTL: time.Hour})
	lookupKey := func(k string) *authz.Key {
		r, err := c.Lookup(ctx, authz.LookupQuery{APIID: "orders", AppKeys: []string{k}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Keys[authz.HashAppKey(k)]
	}
	principal := func() authz.PrincipalResult {
		r, err := c.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", LimitAPI: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	if lookupKey("newkey-0123456789") != nil {
		t.Fatal("unknown key found")
	}
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "newkey-0123456789"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a created key to replace its negative entry", func() bool { return lookupKey("newkey-0123456789") != nil })

	if lookupKey(a.AppKey) == nil {
		t.Fatal("key not found")
	}
	if err := s.RevokeKey(ctx, a.AppKey); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a revoked key to disappear", func() bool { return lookupKey(a.AppKey) == nil })

	if p := principal(); p.Grants["app1"] != nil || p.Apps["app1"].Status != authz.StatusActive {
		t.Fatalf("before: %+v", p)
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a grant to appear", func() bool { return principal().Grants["app1"] != nil })
	if err := s.SetAppStatus(ctx, "app1", authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an app to be disabled", func() bool { return principal().Apps["app1"].Status == authz.StatusDisabled })
	if err := s.SetAppLimits(ctx, "orders", "app1", authz.Limits{Quota: 7}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "limits to appear", func() bool { l := principal().Limits["app1"]; return l != nil && l.Quota == 7 })
	if err := s.RevokeGrant(ctx, "orders", "app1", authz.DefaultStage); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a grant to be revoked", func() bool { return principal().Grants["app1"] == nil })
}

// Concurrent misses of one record share one fetch.
func TestCacheSingleFlight(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	c := startCache(t, s, CacheConfig{})
	gate := &gateHook{release: make(chan struct{}), entered: make(chan struct{}, 16)}
	rdb.AddHook(gate)
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)

	q := authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	run := func() {
		defer wg.Done()
		r, err := c.Lookup(ctx, q)
		if err == nil && r.Keys[authz.HashAppKey(a.AppKey)] == nil {
			err = errors.New("key not found")
		}
		errs <- err
	}
	wg.Add(1)
	go run()
	<-gate.entered // the leader's fetch is on its way to Redis
	for range n - 1 {
		wg.Add(1)
		go run()
	}
	// Each joins two records: the key and the widest clock skew.
	waitFor(t, "every lookup to join the fetch", func() bool { return c.coalesced.Load() == 2*(n-1) })
	close(gate.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := hook.RoundTrips(); got != 1 {
		t.Errorf("%d round trips for %d concurrent misses, want 1", got, n)
	}
}

// gateHook holds every pipeline until release is closed.
type gateHook struct {
	release chan struct{}
	entered chan struct{}
}

func (g *gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (g *gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.release
		return next(ctx, cmds)
	}
}

// A fetch that overlaps an invalidation answers its Check but is not
// cached: it may have read the record before the change.
func TestCacheFetchRacingInvalidation(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	c := startCache(t, s, CacheConfig{})
	gate := &gateHook{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	rdb.AddHook(gate)
	done := make(chan error)
	go func() {
		_, err := c.Lookup(ctx, authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}})
		done <- err
	}()
	<-gate.entered
	c.Invalidate("key:" + a.AppKey)
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := c.c.GetIfPresent(ckey{kind: kindKey, a: authz.HashAppKey(a.AppKey)}); ok {
		t.Error("a fetch that overlapped an invalidation was cached")
	}
	// The next fetch, with no invalidation in between, is cached.
	if _, err := c.Lookup(ctx, authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.c.GetIfPresent(ckey{kind: kindKey, a: authz.HashAppKey(a.AppKey)}); !ok {
		t.Error("a clean fetch was not cached")
	}
}

// When Redis goes away, cached records answer for the stale window from
// the loss of the subscription, then nothing does; a new Redis is
// subscribed to again and the cache is flushed.
func TestCacheStaleWhileRedisDown(t *testing.T) {
	s, _, srv := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	clock := newTestClock()
	c := startCache(t, s, CacheConfig{Stale: time.Minute}, WithCacheClock(clock.now))
	q := authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey, "nope"}}
	if r, err := c.Lookup(ctx, q); err != nil || r.Keys[authz.HashAppKey(a.AppKey)] == nil {
		t.Fatalf("warm-up: %v %+v", err, r)
	}

	srv.Stop()
	waitFor(t, "the subscription to notice Redis is gone", func() bool { return !c.Subscribed() })
	clock.advance(59 * time.Second)
	r, err := c.Lookup(ctx, q)
	if err != nil || r.Keys[authz.HashAppKey(a.AppKey)] == nil {
		t.Fatalf("within the stale window: %v %+v, want the cached key", err, r)
	}
	if _, err := c.Lookup(ctx, authz.LookupQuery{APIID: noAPI, AppKeys: []string{"never-seen"}}); err == nil {
		t.Fatal("an uncached record was answered with Redis down")
	}
	clock.advance(2 * time.Second)
	if _, err := c.Lookup(ctx, q); err == nil {
		t.Fatal("a record past the stale window was served")
	}

	srv.Restart(t) // empty: the key is gone
	waitFor(t, "the subscription to come back", c.Subscribed)
	r, err = c.Lookup(ctx, q)
	if err != nil || r.Keys[authz.HashAppKey(a.AppKey)] != nil {
		t.Fatalf("after resubscribing: %v %+v, want the key gone (cache flushed)", err, r)
	}
}

// With no stale window, nothing is served that Redis cannot confirm.
func TestCacheNoStale(t *testing.T) {
	s, _, srv := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	c := startCache(t, s, CacheConfig{Stale: 0})
	q := authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}}
	if _, err := c.Lookup(ctx, q); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	waitFor(t, "the subscription to notice Redis is gone", func() bool { return !c.Subscribed() })
	time.Sleep(time.Millisecond) // the clock must move past the loss
	if _, err := c.Lookup(ctx, q); err == nil {
		t.Fatal("served a record with --cache-stale 0 and Redis down")
	}
}

// The cache stays within its entry bound.
func TestCacheBounded(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	c := startCache(t, s, CacheConfig{MaxEntries: 100})
	for i := range 1000 {
		if _, err := c.Lookup(ctx, authz.LookupQuery{APIID: noAPI, AppKeys: []string{"k" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	c.c.CleanUp()
	if n := c.Len(); n > 100 || n == 0 {
		t.Errorf("%d entries with MaxEntries 100", n)
	}
}

// A message this version does not know empties the cache.
func TestCacheUnknownMessageFlushes(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	c, err := NewCache(s, CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}}); err != nil {
		t.Fatal(err)
	}
	c.c.CleanUp()
	if c.Len() != 2 { // the key and the widest clock skew
		t.Fatalf("%d entries, want 2", c.Len())
	}
	c.Invalidate("widget:42")
	c.c.CleanUp()
	if c.Len() != 0 {
		t.Errorf("%d entries after an unknown message, want 0", c.Len())
	}
}
