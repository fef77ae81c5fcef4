package store

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
)

// The cache is otter because it beat the simplest hand-written bounded
// map in this benchmark (docs/performance.md has the figures): reads of a
// hot set, and a mixed load that keeps evicting.
//
//	go test -run '^$' -bench CacheLib -benchmem -count 5 ./store | tee lib.txt; benchstat lib.txt

// handCache is the hand-written contender: a sharded map under RWMutexes
// with a TTL per entry and random eviction when a shard is full.
type handCache struct {
	seed   maphash.Seed
	shards [64]handShard
	per    int
}

type handShard struct {
	mu sync.RWMutex
	m  map[ckey]handEntry
}

type handEntry struct {
	e   *entry
	exp int64
}

func newHandCache(maxEntries int) *handCache {
	h := &handCache{seed: maphash.MakeSeed(), per: max(1, maxEntries/64)}
	for i := range h.shards {
		h.shards[i].m = make(map[ckey]handEntry)
	}
	return h
}

func (h *handCache) shard(k ckey) *handShard {
	return &h.shards[maphash.Comparable(h.seed, k)%uint64(len(h.shards))]
}

func (h *handCache) get(k ckey, now int64) (*entry, bool) {
	s := h.shard(k)
	s.mu.RLock()
	he, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || now >= he.exp {
		return nil, false
	}
	return he.e, true
}

func (h *handCache) set(k ckey, e *entry, ttl time.Duration, now int64) {
	s := h.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= h.per {
		for victim := range s.m { // map order is random enough
			delete(s.m, victim)
			break
		}
	}
	s.m[k] = handEntry{e: e, exp: now + int64(ttl)}
	s.mu.Unlock()
}

func newOtter(b *testing.B, maxEntries int) *otter.Cache[ckey, *entry] {
	c, err := otter.New(&otter.Options[ckey, *entry]{
		MaximumWeight:    uint64(maxEntries),
		Weigher:          func(ckey, *entry) uint32 { return 1 },
		ExpiryCalculator: otter.ExpiryWriting[ckey, *entry](time.Minute),
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchKeys(n int) []ckey {
	ks := make([]ckey, n)
	for i := range ks {
		ks[i] = ckey{kind: kindKey, a: "bench-key-" + strconv.Itoa(i)}
	}
	return ks
}

// BenchmarkCacheLibHit: every read hits (a hot set of 10,000 records), as
// on the Check path with a warm cache.
func BenchmarkCacheLibHit(b *testing.B) {
	keys := benchKeys(10_000)
	e := &entry{}
	b.Run("otter", func(b *testing.B) {
		c := newOtter(b, 100_000)
		for _, k := range keys {
			c.Set(k, e)
		}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.GetIfPresent(keys[i%len(keys)]); !ok {
					b.Error("miss")
				}
				i++
			}
		})
	})
	b.Run("hand", func(b *testing.B) {
		c := newHandCache(100_000)
		now := time.Now().UnixNano()
		for _, k := range keys {
			c.set(k, e, time.Minute, now)
		}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.get(keys[i%len(keys)], time.Now().UnixNano()); !ok {
					b.Error("miss")
				}
				i++
			}
		})
	})
}

// BenchmarkCacheLibChurn: 200,000 keys over a 50,000-entry bound, read
// through (a miss is set), so the cache keeps evicting; it reports the
// hit ratio the eviction policy achieves on a skewed (Zipf) load.
func BenchmarkCacheLibChurn(b *testing.B) {
	keys := benchKeys(200_000)
	e := &entry{}
	run := func(b *testing.B, get func(ckey) bool, set func(ckey)) {
		var mu sync.Mutex
		hits, total := 0, 0
		b.RunParallel(func(pb *testing.PB) {
			z := newZipf()
			h, t := 0, 0
			for pb.Next() {
				k := keys[z.Uint64()]
				if get(k) {
					h++
				} else {
					set(k)
				}
				t++
			}
			mu.Lock()
			hits, total = hits+h, total+t
			mu.Unlock()
		})
		b.ReportMetric(float64(hits)/float64(max(total, 1)), "hit-ratio")
	}
	b.Run("otter", func(b *testing.B) {
		c := newOtter(b, 50_000)
		run(b, func(k ckey) bool { _, ok := c.GetIfPresent(k); return ok }, func(k ckey) { c.Set(k, e) })
	})
	b.Run("hand", func(b *testing.B) {
		c := newHandCache(50_000)
		run(b, func(k ckey) bool { _, ok := c.get(k, time.Now().UnixNano()); return ok },
			func(k ckey) { c.set(k, e, time.Minute, time.Now().UnixNano()) })
	})
}

// newZipf draws skewed indexes (s = 1.01) from its own generator.
func newZipf() *rand.Zipf {
	return rand.NewZipf(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), 1.01, 1, 199_999)
}
