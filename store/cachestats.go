package store

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// CacheStats are the Prometheus metrics of a Cache. Counters are resolved
// per record kind up front, so counting costs no allocation on the hot
// path.
type CacheStats struct{ s *cacheStats }

type cacheStats struct {
	hits, misses, stale [numKinds]prometheus.Counter
	invalidations       map[string]prometheus.Counter
	cache               atomic.Pointer[Cache]
}

// invalidationKinds are the label values of appauthz_cache_invalidations_total:
// the message types of keys.go, "flush" for a (re)subscription and
// "unknown" for a message this version cannot name (it flushes too).
var invalidationKinds = []string{"app", "key", "appcode", "api", "routes", "grant", "limits", "token", "flush", "unknown"}

// NewCacheStats creates the cache metrics and registers them on reg (nil:
// kept but not exported). Give the result to one Cache (WithCacheStats).
func NewCacheStats(reg prometheus.Registerer) (*CacheStats, error) {
	s := &cacheStats{invalidations: map[string]prometheus.Counter{}}
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appauthz_cache_lookups_total",
		Help: "Records a Check asked the cache for, by kind and result: hit (answered from memory), miss (fetched from Redis), stale (Redis failed; served within --cache-stale).",
	}, []string{"kind", "result"})
	for k := range numKinds {
		s.hits[k] = lookups.WithLabelValues(kindNames[k], "hit")
		s.misses[k] = lookups.WithLabelValues(kindNames[k], "miss")
		s.stale[k] = lookups.WithLabelValues(kindNames[k], "stale")
	}
	inv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appauthz_cache_invalidations_total",
		Help: "Invalidation messages applied, by record kind; flush counts (re)subscriptions, each of which empties the cache.",
	}, []string{"kind"})
	for _, k := range invalidationKinds {
		s.invalidations[k] = inv.WithLabelValues(k)
	}
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "appauthz_cache_entries",
		Help: "Records held by the cache (estimate).",
	}, func() float64 {
		if c := s.cache.Load(); c != nil {
			return float64(c.Len())
		}
		return 0
	})
	subscribed := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "appauthz_cache_subscribed",
		Help: "1 while the invalidation subscription is live; 0 means every record is fetched from Redis.",
	}, func() float64 {
		if c := s.cache.Load(); c != nil && c.Subscribed() {
			return 1
		}
		return 0
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{lookups, inv, entries, subscribed} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					return nil, errors.New("store: cache metrics already registered on this registry: create one CacheStats per registry")
				}
				return nil, err
			}
		}
	}
	return &CacheStats{s: s}, nil
}

func (s *cacheStats) bind(c *Cache) { s.cache.Store(c) }
