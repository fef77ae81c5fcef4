package store

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/appauthz/appauthz/authz"
)

// Cache is an in-process read-through cache in front of a Store: it
// implements authz.Store, answering Lookup and Principal record by record
// from memory and fetching what it lacks in one pipelined round trip, so a
// Check with a warm cache costs no Redis round trip at all (Admit, which
// claims nonces and charges limits, always goes to Redis).
//
// Freshness rests on the invalidation channel, not on the TTL: every write
// publishes what it changed, Run drops those records within a message's
// delivery time, and every (re)subscription flushes the whole cache, so a
// change published while the subscription was down is never missed. The
// TTL only bounds how long a record that was changed behind appauthz's back
// (by hand in redis-cli) can be served.
//
// While the subscription is down, every record is fetched again; when
// Redis does not answer, a cached record keeps being served for at most
// the stale window counted from the last moment it was known current (its
// fetch, or the loss of the subscription), then the Check fails closed.
//
// Records, and the maps of a result, are shared between Checks and must
// not be modified.
type Cache struct {
	st    *Store
	c     *otter.Cache[ckey, *entry]
	cfg   CacheConfig
	now   func() time.Time
	stats *cacheStats
	log   *slog.Logger // nil: silent
	// onSub is told each time the subscription comes (true) or goes.
	onSub func(bool)

	// gen counts invalidations; a fetch that overlapped one is used for
	// its Check but not cached, since it may predate the change. invMu
	// makes "gen unchanged, insert" atomic against an invalidation.
	gen   atomic.Uint64
	invMu sync.RWMutex

	// grantVer versions the grants of one (api, stage): the invalidation
	// message names the grant set, not the app, so it bumps the version
	// instead of finding every app's entry.
	verMu    sync.RWMutex
	grantVer map[grantScope]uint64

	mu      sync.Mutex
	flights map[ckey]*flight
	// coalesced counts misses that joined another Check's fetch.
	coalesced atomic.Int64

	lastFail   atomic.Int64 // unix ns of the last failed fetch
	subscribed atomic.Bool
	lostAt     atomic.Int64 // unix ns when the subscription was last lost; 0 never
}

// CacheConfig sizes a Cache. Zero fields take the defaults.
type CacheConfig struct {
	// TTL bounds how long a record is served without being fetched again
	// (default 30s).
	TTL time.Duration
	// NegativeTTL is the TTL of "no such app_key / AppCode" (default 5s):
	// short, since the next create publishes anyway, and it keeps a flood
	// of one bad credential off Redis.
	NegativeTTL time.Duration
	// Stale bounds how long cached records are served when Redis does not
	// answer (default 60s; 0 serves nothing Redis cannot confirm).
	Stale time.Duration
	// MaxEntries and MaxBytes bound the cache (defaults 100,000 and 64 MiB);
	// whichever is reached first evicts the least useful records.
	MaxEntries int
	MaxBytes   int64
}

// Cache defaults.
const (
	DefaultCacheTTL         = 30 * time.Second
	DefaultCacheNegativeTTL = 5 * time.Second
	DefaultCacheStale       = 60 * time.Second
	DefaultCacheMaxEntries  = 100_000
	DefaultCacheMaxBytes    = 64 << 20
)

// withDefaults fills zero fields; Stale is only defaulted when negative
// (0 is a meaningful setting).
func (c CacheConfig) withDefaults() CacheConfig {
	if c.TTL <= 0 {
		c.TTL = DefaultCacheTTL
	}
	if c.NegativeTTL <= 0 {
		c.NegativeTTL = DefaultCacheNegativeTTL
	}
	if c.Stale < 0 {
		c.Stale = DefaultCacheStale
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultCacheMaxEntries
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultCacheMaxBytes
	}
	return c
}

// CacheOption configures a Cache.
type CacheOption func(*Cache)

// WithCacheClock injects the clock of TTLs and staleness (tests).
func WithCacheClock(now func() time.Time) CacheOption { return func(c *Cache) { c.now = now } }

// WithCacheLogger logs the subscription's losses and recoveries.
func WithCacheLogger(l *slog.Logger) CacheOption { return func(c *Cache) { c.log = l } }

// WithSubscriptionHook calls f each time the invalidation subscription
// comes up (true) or goes down (false), so readiness can follow it at once.
func WithSubscriptionHook(f func(up bool)) CacheOption { return func(c *Cache) { c.onSub = f } }

// WithCacheStats counts hits, misses, stale answers and invalidations
// (see NewCacheStats).
func WithCacheStats(s *CacheStats) CacheOption { return func(c *Cache) { c.stats = s.s } }

// NewCache returns a Cache in front of st. Call Run to subscribe to the
// invalidation channel: until it has subscribed, every record is fetched.
func NewCache(st *Store, cfg CacheConfig, opts ...CacheOption) (*Cache, error) {
	cfg = cfg.withDefaults()
	c := &Cache{
		st: st, cfg: cfg, now: time.Now,
		grantVer: map[grantScope]uint64{},
		flights:  map[ckey]*flight{},
	}
	for _, o := range opts {
		o(c)
	}
	if c.stats == nil {
		s, _ := NewCacheStats(nil) // nothing to register: cannot fail
		c.stats = s.s
	}
	// Each entry weighs at least MaxBytes/MaxEntries, so the weight bound
	// enforces both limits at once.
	floor := uint32(max(cfg.MaxBytes/int64(cfg.MaxEntries), 1))
	oc, err := otter.New(&otter.Options[ckey, *entry]{
		MaximumWeight: uint64(cfg.MaxBytes),
		Weigher: func(k ckey, e *entry) uint32 {
			return max(floor, uint32(k.size()+e.size))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[ckey, *entry]) time.Duration {
			return c.lifetime(e.Value)
		}),
	})
	if err != nil {
		return nil, err
	}
	c.c = oc
	c.stats.bind(c)
	return c, nil
}

// kind is the type of a cached record.
type kind uint8

const (
	kindKey kind = iota
	kindAppCode
	kindAPI
	kindRoutes
	kindApp
	kindGrant
	kindLimits
	kindToken // fetched with the misses, never cached
	numKinds
)

var kindNames = [numKinds]string{"key", "appcode", "api", "routes", "app", "grant", "limits", "token"}

// ckey names one cached record: key a (app_key hash), appcode a (hash), api a,
// routes, app a, grant a=api b=stage c=app, limits a=api b=app, token a
// (hash). A struct
// key costs no allocation to build, unlike a concatenated string.
type ckey struct {
	kind    kind
	a, b, c string
}

func (k ckey) size() int { return 64 + len(k.a) + len(k.b) + len(k.c) }

type grantScope struct{ api, stage string }

// entry is one cached record. val is nil when Redis has no such record.
type entry struct {
	val     any
	one     any // map[string]*T holding just val (see newEntry); nil when absent
	absent  bool
	fetched int64  // unix ns at the start of the fetch
	ver     uint64 // grantVer of a grant entry's scope at insert
	size    int    // estimated bytes, for the weigher
}

// ttl is how long e may be served while the subscription is up.
func (c *Cache) ttl(k kind, e *entry) time.Duration {
	if e.absent && (k == kindKey || k == kindAppCode) {
		return c.cfg.NegativeTTL
	}
	return c.cfg.TTL
}

// lifetime is how long otter keeps e: its TTL plus the stale window, so a
// record in use when Redis went away can still be served for the window.
func (c *Cache) lifetime(e *entry) time.Duration {
	if e.absent {
		return c.cfg.NegativeTTL + c.cfg.Stale
	}
	return c.cfg.TTL + c.cfg.Stale
}

// fresh reports whether e can answer without Redis.
func (c *Cache) fresh(k ckey, e *entry, now int64) bool {
	if !c.subscribed.Load() || now-e.fetched >= int64(c.ttl(k.kind, e)) {
		return false
	}
	return k.kind != kindGrant || e.ver == c.grantVersion(grantScope{k.a, k.b})
}

// usableStale reports whether e may answer while Redis does not: it was
// known current no longer than the stale window ago.
func (c *Cache) usableStale(k ckey, e *entry, now int64) bool {
	if k.kind == kindGrant && e.ver != c.grantVersion(grantScope{k.a, k.b}) {
		return false // invalidated: known wrong
	}
	known := e.fetched
	switch {
	case c.subscribed.Load():
		// A live subscription would have dropped the record on a change.
		known = now
	case c.lostAt.Load() > known:
		known = c.lostAt.Load()
	}
	return now-known <= int64(c.cfg.Stale)
}

func (c *Cache) grantVersion(s grantScope) uint64 {
	c.verMu.RLock()
	v := c.grantVer[s]
	c.verMu.RUnlock()
	return v
}

// Subscribed reports whether the invalidation subscription is live: until
// it is, the cache cannot vouch for a record and fetches every one.
func (c *Cache) Subscribed() bool { return c.subscribed.Load() }

// Len is the number of cached records.
func (c *Cache) Len() int { return c.c.EstimatedSize() }

// Flush drops every record.
func (c *Cache) Flush() {
	c.invMu.Lock()
	c.gen.Add(1)
	c.c.InvalidateAll()
	c.invMu.Unlock()
}

// Admit always goes to Redis: nonces and limits are shared state.
func (c *Cache) Admit(ctx context.Context, q authz.AdmitQuery) (authz.AdmitResult, error) {
	return c.st.Admit(ctx, q)
}

// Lookup answers round trip one from the cache. Bearer tokens are not
// cached (they expire in Redis, which publishes nothing when they do), so
// a Lookup with a token always reaches Redis, in the same round trip as
// any other miss.
func (c *Cache) Lookup(ctx context.Context, q authz.LookupQuery) (authz.LookupResult, error) {
	var buf [4]want
	ws := buf[:0]
	switch {
	case q.APIID == "":
		ws = append(ws, want{k: ckey{kind: kindRoutes}})
	case isID(q.APIID):
		ws = append(ws, want{k: ckey{kind: kindAPI, a: q.APIID}})
	}
	for _, k := range q.AppKeys {
		if isID(k) {
			// Cached by the app_key's hash, the name invalidations use;
			// the app_key itself is kept only for format-1 reads.
			ws = append(ws, want{k: ckey{kind: kindKey, a: authz.HashAppKey(k)}, appKey: k})
		}
	}
	for _, h := range q.AppCodeHashes {
		if validHash(h) {
			ws = append(ws, want{k: ckey{kind: kindAppCode, a: h}})
		}
	}
	for _, h := range q.TokenHashes {
		if validHash(h) {
			ws = append(ws, want{k: ckey{kind: kindToken, a: h}})
		}
	}
	if err := c.resolve(ctx, ws); err != nil {
		return authz.LookupResult{}, err
	}
	var res authz.LookupResult
	var shared [3]bool
	for i := range ws {
		w := &ws[i]
		switch v := w.e.val.(type) {
		case *authz.API:
			res.API = v
		case []authz.Route:
			res.Routes = v
		case *authz.Key:
			res.Keys = addOne(res.Keys, &shared[0], w.e.one, w.k.a, v)
		case *authz.AppCodeRecord:
			res.AppCodes = addOne(res.AppCodes, &shared[1], w.e.one, w.k.a, v)
		case *authz.Token:
			res.Tokens = addOne(res.Tokens, &shared[2], w.e.one, w.k.a, v)
		}
	}
	return res, nil
}

// Principal answers round trip two from the cache.
func (c *Cache) Principal(ctx context.Context, q authz.PrincipalQuery) (authz.PrincipalResult, error) {
	stage := q.Stage
	if stage == "" {
		stage = authz.DefaultStage
	}
	grantAPI, limitAPI := q.GrantAPI, q.LimitAPI
	if !isID(grantAPI) || !isID(stage) {
		grantAPI = ""
	}
	if !isID(limitAPI) {
		limitAPI = ""
	}
	var buf [4]want
	ws := buf[:0]
	if isID(q.APIID) {
		ws = append(ws, want{k: ckey{kind: kindAPI, a: q.APIID}})
	}
	for _, id := range q.AppIDs {
		if !isID(id) {
			continue
		}
		ws = append(ws, want{k: ckey{kind: kindApp, a: id}})
		if grantAPI != "" {
			ws = append(ws, want{k: ckey{kind: kindGrant, a: grantAPI, b: stage, c: id}})
		}
		if limitAPI != "" {
			ws = append(ws, want{k: ckey{kind: kindLimits, a: limitAPI, b: id}})
		}
	}
	if err := c.resolve(ctx, ws); err != nil {
		return authz.PrincipalResult{}, err
	}
	var res authz.PrincipalResult
	var shared [3]bool
	for i := range ws {
		w := &ws[i]
		switch v := w.e.val.(type) {
		case *authz.API:
			res.API = v
		case *authz.App:
			res.Apps = addOne(res.Apps, &shared[0], w.e.one, w.k.a, v)
		case *authz.Grant:
			res.Grants = addOne(res.Grants, &shared[1], w.e.one, w.k.c, v)
		case *authz.Limits:
			res.Limits = addOne(res.Limits, &shared[2], w.e.one, w.k.b, v)
		}
	}
	return res, nil
}

// addOne adds record v under k to m. The first record comes with its
// entry's one-record map, shared as is; a second one copies it first, so
// a shared map is never written.
func addOne[T any](m map[string]*T, shared *bool, one any, k string, v *T) map[string]*T {
	if m == nil {
		if om, ok := one.(map[string]*T); ok {
			*shared = true
			return om
		}
		m = make(map[string]*T, 1)
	} else if *shared {
		m, *shared = maps.Clone(m), false
	}
	m[k] = v
	return m
}

// isID is idPattern without the regexp, on the hot path: ids no record can
// have are answered "absent" without a cache entry or a Redis command.
func isID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

var _ authz.Store = (*Cache)(nil)
