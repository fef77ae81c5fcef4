package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

func hmacAPI(id string, skew time.Duration) authz.API {
	return authz.API{ID: id, Methods: []authz.Method{authz.MethodHMAC}, Access: authz.AccessAuthenticated, ReplayProtection: true, ClockSkew: skew}
}

// maxSkewSteps runs the API writes that must keep maxskew: create two,
// delete the wider, update, create with the default window, delete all.
func maxSkewSteps(t *testing.T, s *Store, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	want := func(step string, d time.Duration) {
		t.Helper()
		got, err := s.MaxClockSkew(ctx)
		if err != nil || got != d {
			t.Fatalf("%s: widest clock skew %s, %v, want %s", step, got, err, d)
		}
	}
	want("no API", 0)
	steps := []struct {
		name  string
		write func() error
		want  time.Duration
	}{
		{"create a 2s API", func() error { return s.CreateAPI(ctx, hmacAPI("short", 2*time.Second)) }, 2 * time.Second},
		{"create a 1h API", func() error { return s.CreateAPI(ctx, hmacAPI("long", time.Hour)) }, time.Hour},
		{"delete the 1h API", func() error { return s.DeleteAPI(ctx, "long") }, 2 * time.Second},
		{"update the 2s API to 90s", func() error { return s.UpdateAPI(ctx, hmacAPI("short", 90*time.Second)) }, 90 * time.Second},
		{"update it down to 5s", func() error { return s.UpdateAPI(ctx, hmacAPI("short", 5*time.Second)) }, 5 * time.Second},
		{"create one with the default window", func() error { return s.CreateAPI(ctx, hmacAPI("dflt", 0)) }, authz.DefaultClockSkew},
		{"a failed create changes nothing", func() error {
			if err := s.CreateAPI(ctx, hmacAPI("dflt", time.Hour)); err == nil {
				t.Fatal("creating an existing API succeeded")
			}
			return nil
		}, authz.DefaultClockSkew},
		{"delete the default one", func() error { return s.DeleteAPI(ctx, "dflt") }, 5 * time.Second},
		{"delete the last one", func() error { return s.DeleteAPI(ctx, "short") }, 0},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want(st.name, st.want)
	}
	if n := rdb.Exists(ctx, "appauthz:maxskew").Val(); n != 0 {
		t.Errorf("maxskew left behind with no API")
	}
}

// Every API write keeps the widest window of all APIs in maxskew.
func TestMaxSkewMaintained(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	maxSkewSteps(t, s, rdb)
}

// On a Cluster the admin-write machinery keeps it the same way.
func TestClusterMaxSkewMaintained(t *testing.T) {
	s, cc, _ := clusterStore(t)
	maxSkewSteps(t, s, cc)
}

// Concurrent writes of different APIs never leave a maximum that misses
// one of them: the last writer's recomputation saw every other write.
func TestMaxSkewConcurrentWrites(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	skews := []time.Duration{time.Second, time.Minute, time.Hour, 2 * time.Hour, 3 * time.Second, 10 * time.Minute}
	var wg sync.WaitGroup
	for i, d := range skews {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.CreateAPI(ctx, hmacAPI("api"+string(rune('a'+i)), d)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := s.MaxClockSkew(ctx); got != 2*time.Hour {
		t.Fatalf("widest clock skew %s after concurrent creates, want 2h", got)
	}
}

// Lookup reports the widest window with the app_keys it reads, from the
// store and from the cache; the cache drops it with any API write.
func TestLookupReportsMaxSkew(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	a := mustCreateApp(t, s, "app1")
	if err := s.CreateAPI(ctx, hmacAPI("short", 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	c := startCache(t, s, CacheConfig{TTL: time.Hour})
	withKey := authz.LookupQuery{APIID: "short", AppKeys: []string{a.AppKey}}
	for name, st := range map[string]authz.Store{"store": s, "cache": c} {
		r, err := st.Lookup(ctx, withKey)
		if err != nil || r.MaxClockSkew != 2*time.Second {
			t.Errorf("%s: MaxClockSkew %s, %v, want 2s", name, r.MaxClockSkew, err)
		}
		r, err = st.Lookup(ctx, authz.LookupQuery{APIID: "short", AppCodeHashes: []string{authz.HashAppCode(a.AppCode)}})
		if err != nil || r.MaxClockSkew != 0 {
			t.Errorf("%s: an AppCode lookup (no nonce) read the widest skew: %s, %v", name, r.MaxClockSkew, err)
		}
	}
	if err := s.CreateAPI(ctx, hmacAPI("long", time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cache to see the wider window", func() bool {
		r, err := c.Lookup(ctx, withKey)
		return err == nil && r.MaxClockSkew == time.Hour
	})
}

// Data written before maxskew existed has none: authzctl migrate computes
// it, so nonces stop living a day without waiting for an API write.
func TestMigrateComputesMaxSkew(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	for id, d := range map[string]time.Duration{"short": 2 * time.Second, "long": time.Hour} {
		if err := s.CreateAPI(ctx, hmacAPI(id, d)); err != nil {
			t.Fatal(err)
		}
	}
	rdb.Del(ctx, s.keys.maxSkew()) // as an older version left it
	if got, _ := s.MaxClockSkew(ctx); got != 0 {
		t.Fatalf("widest clock skew %s with the key deleted, want 0 (unknown)", got)
	}
	for range 2 { // idempotent
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.MaxClockSkew(ctx); got != time.Hour {
			t.Fatalf("widest clock skew %s after migrate, want 1h", got)
		}
	}
}
