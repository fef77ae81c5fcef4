package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

// cacheConfig configures the in-process record cache (docs/performance.md).
type cacheConfig struct {
	Enabled     bool
	TTL         time.Duration
	NegativeTTL time.Duration
	Stale       time.Duration
	Size        int
	MemoryMB    int
}

func (c *cacheConfig) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.Enabled, "cache", true, "cache apps, keys, AppCodes, APIs, routes and grants in memory, invalidated through Redis pub/sub (--cache=false: every Check reads Redis)")
	fs.DurationVar(&c.TTL, "cache-ttl", store.DefaultCacheTTL, "how long a cached record is served before it is read again (invalidation drops changed records at once; the TTL only bounds edits made behind authzctl's back)")
	fs.DurationVar(&c.NegativeTTL, "cache-negative-ttl", store.DefaultCacheNegativeTTL, "how long \"no such app_key or AppCode\" is cached")
	fs.DurationVar(&c.Stale, "cache-stale", store.DefaultCacheStale, "when Redis does not answer, how long cached records keep being served before Checks fail with StoreUnavailable (0: never)")
	fs.IntVar(&c.Size, "cache-size", store.DefaultCacheMaxEntries, "maximum number of cached records")
	fs.IntVar(&c.MemoryMB, "cache-memory-mb", store.DefaultCacheMaxBytes>>20, "maximum memory of cached records, in MiB (estimated)")
}

func (c *cacheConfig) validate() []error {
	if !c.Enabled {
		return nil
	}
	var problems []error
	if c.TTL < time.Second {
		problems = append(problems, fmt.Errorf("--cache-ttl %v: use at least 1s, e.g. 30s", c.TTL))
	}
	if c.NegativeTTL < 100*time.Millisecond || c.NegativeTTL > c.TTL {
		problems = append(problems, fmt.Errorf("--cache-negative-ttl %v: use from 100ms to --cache-ttl, e.g. 5s", c.NegativeTTL))
	}
	if c.Stale < 0 {
		problems = append(problems, fmt.Errorf("--cache-stale %v: must be 0 (fail closed at once) or more, e.g. 60s", c.Stale))
	}
	if c.Size < 100 {
		problems = append(problems, fmt.Errorf("--cache-size %d: use at least 100 records", c.Size))
	}
	if c.MemoryMB < 1 {
		problems = append(problems, fmt.Errorf("--cache-memory-mb %d: use at least 1", c.MemoryMB))
	}
	return problems
}

func (c *cacheConfig) logValue() slog.Value {
	if !c.Enabled {
		return slog.StringValue("off")
	}
	return slog.GroupValue(
		slog.String("ttl", c.TTL.String()),
		slog.String("negative_ttl", c.NegativeTTL.String()),
		slog.String("stale", c.Stale.String()),
		slog.Int("size", c.Size),
		slog.Int("memory_mb", c.MemoryMB),
	)
}

// openCache puts the cache in front of st when enabled and starts its
// invalidation subscriber until ctx ends; onChange is called whenever the
// subscription comes or goes, with its new state. It returns the authz.Store the engine reads
// and the cache (nil when disabled).
func openCache(ctx context.Context, cfg cacheConfig, st *store.Store, log *slog.Logger, reg prometheus.Registerer, onChange func(subscribed bool)) (authz.Store, *store.Cache, error) {
	if !cfg.Enabled {
		log.Info("cache disabled (--cache=false): every Check reads Redis")
		return st, nil, nil
	}
	stats, err := store.NewCacheStats(reg)
	if err != nil {
		return nil, nil, err
	}
	c, err := store.NewCache(st, store.CacheConfig{
		TTL: cfg.TTL, NegativeTTL: cfg.NegativeTTL, Stale: cfg.Stale,
		MaxEntries: cfg.Size, MaxBytes: int64(cfg.MemoryMB) << 20,
	}, store.WithCacheStats(stats), store.WithCacheLogger(log), store.WithSubscriptionHook(onChange))
	if err != nil {
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	go c.Run(ctx)
	return c, c, nil
}
