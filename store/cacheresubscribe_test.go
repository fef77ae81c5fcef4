package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// subEvents records the subscription hook's events in order.
type subEvents struct {
	mu  sync.Mutex
	evs []string
}

func (e *subEvents) hook(up bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if up {
		e.evs = append(e.evs, "up")
	} else {
		e.evs = append(e.evs, "down")
	}
}

func (e *subEvents) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// runner starts and stops a Cache's subscriber, so a test decides when
// the subscription may come back.
type runner struct {
	c      *Cache
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *runner) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func(done chan struct{}) { r.c.Run(ctx); close(done) }(r.done)
	t.Cleanup(r.stop)
}

// stop ends Run and waits for it: the subscription is down afterwards.
func (r *runner) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// After Redis comes back, a cached record is never served on the strength
// of an earlier failure: a key revoked while the subscription is still
// down is refused by the very next Check, and after the resubscription
// too. The clock is frozen, so "a moment after a failed fetch" lasts for
// the whole test: the old cache answered from its stale window here
// without asking Redis.
func TestCacheNoStaleOnceRedisIsBack(t *testing.T) {
	s, _, srv := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	kh := authz.HashAppKey(a.AppKey)
	clock := newTestClock() // never advanced
	var ev subEvents
	c, err := NewCache(s, CacheConfig{Stale: time.Hour, TTL: time.Hour}, WithCacheClock(clock.now), WithSubscriptionHook(ev.hook))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{c: c}
	r.start(t)
	waitFor(t, "the invalidation subscription", c.Subscribed)
	q := authz.LookupQuery{APIID: noAPI, AppKeys: []string{a.AppKey}}
	lookup := func(step string) *authz.Key {
		t.Helper()
		res, err := c.Lookup(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return res.Keys[kh]
	}
	if lookup("warm-up") == nil {
		t.Fatal("warm-up: the key is missing")
	}

	// Redis goes away: the cached key is served from the stale window.
	srv.Stop()
	waitFor(t, "the subscription to notice Redis is gone", func() bool { return !c.Subscribed() })
	r.stop() // the subscription stays down until the test restarts it
	if lookup("Redis down") == nil {
		t.Fatal("Redis down: the cached key was not served from the stale window")
	}

	// Redis comes back (empty: the data is written again) and the key is
	// revoked while the subscription is still down, so its invalidation
	// is lost. The next Check must ask Redis and see the revocation.
	srv.Restart(t)
	mustCreateApp(t, s, "app1")
	if lookup("Redis back, key re-created") == nil {
		t.Fatal("Redis back: the re-created key is missing")
	}
	if err := s.RevokeKey(ctx, a.AppKey); err != nil {
		t.Fatal(err)
	}
	if k := lookup("revoked, subscription down"); k != nil {
		t.Fatal("revoked while the subscription was down: the very next Check still saw the key")
	}
	if got, want := ev.list(), []string{"up", "down"}; !slices.Equal(got, want) {
		t.Fatalf("subscription events %v, want %v: the revocation must be seen before any resubscription", got, want)
	}

	// A second key is cached, revoked while the subscription is down
	// (Redis up), and the subscription comes back: the very next Check
	// sees the revocation.
	b := mustCreateApp(t, s, "app2")
	qb := authz.LookupQuery{APIID: noAPI, AppKeys: []string{b.AppKey}}
	if res, err := c.Lookup(ctx, qb); err != nil || res.Keys[authz.HashAppKey(b.AppKey)] == nil {
		t.Fatalf("app2 warm-up: %v %+v", err, res)
	}
	if err := s.RevokeKey(ctx, b.AppKey); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	waitFor(t, "the subscription to come back", c.Subscribed)
	if res, err := c.Lookup(ctx, qb); err != nil || res.Keys[authz.HashAppKey(b.AppKey)] != nil {
		t.Fatalf("first Check after resubscribing: %v %+v, want the revoked key gone", err, res)
	}
	if got, want := ev.list(), []string{"up", "down", "up"}; !slices.Equal(got, want) {
		t.Errorf("subscription events %v, want %v", got, want)
	}
}

// A record picked up before a resubscription is not served after it, even
// as the stale fallback of a failed fetch, and a fetch begun before it is
// not joined by a Check that starts after it.
func TestCacheOlderEpochNeverServed(t *testing.T) {
	s, _, _ := newTestStore(t)
	clock := newTestClock()
	c, err := NewCache(s, CacheConfig{Stale: time.Hour}, WithCacheClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	k := ckey{kind: kindApp, a: "app1"}
	old := newEntry(k, &authz.App{ID: "app1"}, clock.now().UnixNano())
	c.subscribed.Store(true)
	now := clock.now().UnixNano()
	if !c.usableStale(k, old, now) || !c.fresh(k, old, now) {
		t.Fatal("a record of the current epoch must be fresh and usable")
	}
	c.epoch.Add(1) // a resubscription
	if c.fresh(k, old, now) {
		t.Error("a record of an older epoch is fresh after a resubscription")
	}
	if c.usableStale(k, old, now) {
		t.Error("a record of an older epoch is a stale fallback after a resubscription")
	}
	c.subscribed.Store(false)
	if !c.usableStale(k, old, now) {
		t.Error("with the subscription down and within the window, the record should be a stale fallback")
	}

	// A flight of the older epoch is not joined.
	f := &flight{done: make(chan struct{}), epoch: 0}
	c.flights[k] = f
	c.subscribed.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the new flight's fetch fails at once; the old one never ends
	ws := []want{{k: k}}
	err = c.resolve(ctx, ws)
	if ws[0].fl == f {
		t.Fatal("a Check of the new epoch joined a fetch begun before the resubscription")
	}
	if err == nil {
		t.Error("with the fetch failed and no usable record, resolve must fail")
	}
	if c.flights[k] != nil {
		t.Error("the new flight is still registered after its fetch ended")
	}
}
