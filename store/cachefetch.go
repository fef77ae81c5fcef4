package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// want is one record a Check needs, and its answer.
type want struct {
	k      ckey
	appKey string // a kindKey's app_key, for format-1 reads
	e      *entry // the answer
	stale  *entry // a cached record too old to answer without Redis
	fl     *flight
	lead   bool
	done   bool
}

// flight is one fetch of a record in progress; concurrent Checks missing
// the same record wait for it instead of asking Redis again.
type flight struct {
	done chan struct{}
	e    *entry
	err  error
}

// retryAfterFailure is how long after a failed fetch records in the stale
// window are served without asking Redis: otherwise every Check would wait
// for --redis-timeout before being answered from memory.
const retryAfterFailure = time.Second

// resolve answers every want: from the cache when fresh, otherwise from
// one pipelined fetch of all the misses this Check leads, plus the fetches
// other Checks already lead. When Redis fails, a stale record still within
// the stale window answers; any other miss fails the whole call.
func (c *Cache) resolve(ctx context.Context, ws []want) error {
	now := c.now().UnixNano()
	misses := 0
	for i := range ws {
		w := &ws[i]
		if w.k.kind == kindToken {
			misses++
			continue
		}
		e, ok := c.c.GetIfPresent(w.k)
		if ok && c.fresh(w.k, e, now) {
			w.e, w.done = e, true
			c.stats.hits[w.k.kind].Inc()
			continue
		}
		if ok {
			// Redis failed a moment ago: answer from the stale window
			// without waiting for it to fail again.
			if now-c.lastFail.Load() < int64(retryAfterFailure) && c.usableStale(w.k, e, now) {
				w.e, w.done = e, true
				c.stats.stale[w.k.kind].Inc()
				continue
			}
			w.stale = e
		}
		c.stats.misses[w.k.kind].Inc()
		misses++
	}
	if misses == 0 {
		return nil
	}

	var leadBuf [8]int
	leads := leadBuf[:0]
	c.mu.Lock()
	for i := range ws {
		w := &ws[i]
		if w.done {
			continue
		}
		if f := c.flights[w.k]; f != nil {
			w.fl = f
			c.coalesced.Add(1)
			continue
		}
		w.fl, w.lead = &flight{done: make(chan struct{})}, true
		c.flights[w.k] = w.fl
		leads = append(leads, i)
	}
	c.mu.Unlock()

	if len(leads) > 0 {
		c.fetchLeads(ctx, ws, leads, now)
	}

	for i := range ws {
		w := &ws[i]
		if w.done {
			continue
		}
		select {
		case <-w.fl.done:
		case <-ctx.Done():
			return fmt.Errorf("store: cache: %w", ctx.Err())
		}
		if w.fl.err == nil {
			w.e = w.fl.e
			continue
		}
		if w.stale != nil && c.usableStale(w.k, w.stale, c.now().UnixNano()) {
			w.e = w.stale
			c.stats.stale[w.k.kind].Inc()
			continue
		}
		return w.fl.err
	}
	return nil
}

// fetchLeads fetches the records this Check leads in one round trip,
// caches them unless an invalidation overlapped the fetch, and releases
// every Check waiting on them.
func (c *Cache) fetchLeads(ctx context.Context, ws []want, leads []int, started int64) {
	keys := make([]ckey, len(leads))
	appKeys := make([]string, len(leads))
	for j, i := range leads {
		keys[j], appKeys[j] = ws[i].k, ws[i].appKey
	}
	gen := c.gen.Load()
	vals, err := c.st.fetch(ctx, keys, appKeys)
	if err != nil {
		c.lastFail.Store(c.now().UnixNano())
	}
	var es []*entry
	if err == nil {
		es = make([]*entry, len(keys))
		for j, k := range keys {
			es[j] = newEntry(k, vals[j], started)
		}
		c.invMu.RLock()
		if c.gen.Load() == gen {
			for j, k := range keys {
				if k.kind == kindToken {
					continue
				}
				if k.kind == kindGrant {
					es[j].ver = c.grantVersion(grantScope{k.a, k.b})
				}
				c.c.Set(k, es[j])
			}
		}
		c.invMu.RUnlock()
	}
	c.mu.Lock()
	for j, i := range leads {
		f := ws[i].fl
		if err != nil {
			f.err = err
		} else {
			f.e = es[j]
		}
		delete(c.flights, ws[i].k)
	}
	c.mu.Unlock()
	for _, i := range leads {
		close(ws[i].fl.done)
	}
}

// newEntry wraps a fetched record. one is a map holding just this record,
// built once so that the common Check (one credential, one app) hands the
// engine shared read-only maps instead of allocating its own.
func newEntry(k ckey, v any, fetched int64) *entry {
	e := &entry{val: v, absent: v == nil, fetched: fetched, size: valueSize(v)}
	switch r := v.(type) {
	case *authz.Key:
		e.one = map[string]*authz.Key{k.a: r}
	case *authz.AppCodeRecord:
		e.one = map[string]*authz.AppCodeRecord{k.a: r}
	case *authz.Token:
		e.one = map[string]*authz.Token{k.a: r}
	case *authz.App:
		e.one = map[string]*authz.App{k.a: r}
	case *authz.Grant:
		e.one = map[string]*authz.Grant{k.c: r}
	case *authz.Limits:
		e.one = map[string]*authz.Limits{k.b: r}
	}
	if e.one != nil {
		e.size += oneMapSize
	}
	return e
}

// oneMapSize estimates a one-entry map.
const oneMapSize = 256

// fetch reads the records named by keys in one pipeline and decodes each;
// a record Redis does not hold is nil. Ids are valid (the cache checked).
// appKeys holds the app_key of each kindKey entry, read under its
// format-1 name too while the store is of format 1.
func (s *Store) fetch(ctx context.Context, keys []ckey, appKeys []string) ([]any, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	cmds := make([]redis.Cmder, len(keys))
	var keyCmds map[int]keyCmd
	legacy := s.legacy.Load()
	for i, k := range keys {
		switch k.kind {
		case kindKey:
			if keyCmds == nil {
				keyCmds = map[int]keyCmd{}
			}
			keyCmds[i] = s.queueKey(ctx, pipe, k.a, appKeys[i], legacy)
		case kindAppCode:
			cmds[i] = pipe.HGetAll(ctx, s.keys.appCode(k.a))
		case kindAPI:
			cmds[i] = pipe.HGetAll(ctx, s.keys.api(k.a))
		case kindRoutes:
			cmds[i] = pipe.HGetAll(ctx, s.keys.routes())
		case kindApp:
			cmds[i] = pipe.HGetAll(ctx, s.keys.app(k.a))
		case kindGrant:
			cmds[i] = pipe.HGet(ctx, s.keys.grant(k.a, k.b), k.c)
		case kindLimits:
			cmds[i] = pipe.HGet(ctx, s.keys.appLimits(k.a), k.b)
		case kindToken:
			cmds[i] = pipe.Get(ctx, s.keys.token(k.a))
		}
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, fmt.Errorf("store: cache fetch: %w", err)
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		if kc, ok := keyCmds[i]; ok {
			key, err := s.readKey(k.a, appKeys[i], kc)
			if err != nil {
				return nil, fmt.Errorf("store: cache fetch: %w", err)
			}
			if key != nil {
				vals[i] = key
			}
			continue
		}
		v, err := s.decodeFetched(k, cmds[i])
		if err != nil {
			return nil, fmt.Errorf("store: cache fetch: %w", err)
		}
		vals[i] = v
	}
	return vals, nil
}

// decodeFetched decodes one answer of fetch, returning an untyped nil for
// a record that does not exist.
func (s *Store) decodeFetched(k ckey, cmd redis.Cmder) (any, error) {
	switch k.kind {
	case kindAppCode:
		if rec := decodeAppCode(cmd.(*redis.MapStringStringCmd).Val()); rec != nil {
			return rec, nil
		}
	case kindAPI:
		api, err := decodeAPI(k.a, cmd.(*redis.MapStringStringCmd).Val())
		if err != nil || api == nil {
			return nil, err
		}
		return api, nil
	case kindRoutes:
		rs, err := decodeRoutes(cmd.(*redis.MapStringStringCmd).Val())
		if err != nil {
			return nil, err
		}
		return rs, nil
	case kindApp:
		if app := decodeApp(k.a, cmd.(*redis.MapStringStringCmd).Val()); app != nil {
			return app, nil
		}
	case kindGrant:
		c := cmd.(*redis.StringCmd)
		if errors.Is(c.Err(), redis.Nil) {
			return nil, nil
		}
		g, err := decodeGrant(c.Val())
		if err != nil {
			return nil, fmt.Errorf("grant of app %q on api %q stage %q: %w", k.c, k.a, k.b, err)
		}
		return g, nil
	case kindLimits:
		c := cmd.(*redis.StringCmd)
		if errors.Is(c.Err(), redis.Nil) {
			return nil, nil
		}
		l, err := decodeLimits(c.Val())
		if err != nil {
			return nil, fmt.Errorf("limits of app %q on api %q: %v: fix them with `authzctl limit set --api %s --app %s`", k.b, k.a, err, k.a, k.b)
		}
		return &l, nil
	case kindToken:
		c := cmd.(*redis.StringCmd)
		if errors.Is(c.Err(), redis.Nil) {
			return nil, nil
		}
		tok, err := decodeToken(k.a, c.Val())
		if err != nil || tok == nil {
			return nil, err
		}
		return tok, nil
	}
	return nil, nil
}

// valueSize estimates the bytes a record holds, for the memory bound.
func valueSize(v any) int {
	const ptr = 48 // header of a small struct and its pointer
	switch r := v.(type) {
	case *authz.Key:
		n := ptr + len(r.KeyID) + len(r.AppID) + len(r.Secret) + len(r.Status) + 64
		for _, s := range r.Scopes {
			n += 16 + len(s)
		}
		return n
	case *authz.AppCodeRecord:
		return ptr + len(r.AppID) + len(r.Status)
	case *authz.App:
		return ptr + len(r.ID) + len(r.Name) + len(r.Status)
	case *authz.API:
		return 512 + 32*(len(r.Scopes)+len(r.MethodScopes)+len(r.HMACAlgorithms)+len(r.EnforceHeaders))
	case []authz.Route:
		return ptr + 128*len(r)
	case *authz.Grant, *authz.Limits:
		return ptr
	}
	return 16
}
