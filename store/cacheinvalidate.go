package store

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// Subscription health: with no message for pingEvery the subscriber pings
// on its own connection, and a ping unanswered by the next period means
// the connection is dead even if TCP has not noticed (a partition). Then
// it reconnects, with a backoff while Redis is away.
const (
	pingEvery  = time.Second
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Run subscribes to the invalidation channel and applies every message
// until ctx ends, reconnecting as long as it takes. Each (re)subscription
// flushes the cache first: messages published while the subscription was
// down are lost, so nothing cached before it can be trusted.
func (c *Cache) Run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		if c.subscribeOnce(ctx) {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// subscribeOnce runs one subscription until it breaks; it reports whether
// the subscription was ever confirmed.
func (c *Cache) subscribeOnce(ctx context.Context) (confirmed bool) {
	ps := c.st.rdb.Subscribe(ctx, c.st.Channel())
	defer ps.Close()
	// The read below waits up to pingEvery whatever ctx says; closing the
	// connection ends it at once.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	defer c.lost()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return confirmed
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || pinged {
				if c.log != nil && (confirmed || c.subscribed.Load()) {
					c.log.Warn("cache: invalidation subscription lost; fetching every record until it is back", slog.String("error", err.Error()))
				}
				return confirmed
			}
			if err := ps.Ping(ctx); err != nil {
				return confirmed
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// A migration announced while unsubscribed was missed.
				c.reloadFormat(ctx)
				c.Flush()
				c.stats.invalidations["flush"].Inc()
				c.subscribed.Store(true)
				confirmed = true
				if c.onSub != nil {
					c.onSub(true)
				}
				if c.log != nil {
					c.log.Info("cache: subscribed to invalidations; cache flushed", slog.String("channel", m.Channel))
				}
			}
		case *redis.Message:
			if strings.HasPrefix(m.Payload, msgFormat) {
				c.reloadFormat(ctx)
			}
			c.Invalidate(m.Payload)
		}
	}
}

// reloadFormat re-reads the store's format version (format.go), so
// format-1 reads end once `authzctl migrate` has run.
func (c *Cache) reloadFormat(ctx context.Context) {
	f, err := c.st.LoadFormat(ctx)
	if err != nil && c.log != nil {
		c.log.Warn("cache: could not read the store's format version", slog.String("error", err.Error()))
	} else if c.log != nil && f == 1 {
		c.log.Warn("store: this Redis holds format-1 data (app_keys in clear in key names); keys keep working, but run `authzctl migrate`")
	}
}

// lost marks the subscription down.
func (c *Cache) lost() {
	// Only Run's goroutine writes subscribed: lostAt is set first so a
	// Check never sees "down" without the moment it went down.
	if c.subscribed.Load() {
		c.lostAt.Store(c.now().UnixNano())
		c.subscribed.Store(false)
		if c.onSub != nil {
			c.onSub(false)
		}
	}
}

// Invalidate applies one message of the invalidation channel (keys.go
// lists them). A message it does not know flushes everything: a newer
// writer may have changed something this version cannot name.
func (c *Cache) Invalidate(msg string) {
	typ, rest, _ := strings.Cut(msg, ":")
	c.invMu.Lock()
	defer c.invMu.Unlock()
	c.gen.Add(1)
	switch typ {
	case "app":
		c.c.Invalidate(ckey{kind: kindApp, a: rest})
	case "key":
		if !validHash(rest) {
			rest = authz.HashAppKey(rest) // a format-1 writer names the app_key
		}
		c.c.Invalidate(ckey{kind: kindKey, a: rest})
	case "appcode":
		c.c.Invalidate(ckey{kind: kindAppCode, a: rest})
	case "api":
		c.c.Invalidate(ckey{kind: kindAPI, a: rest})
	case "routes":
		c.c.Invalidate(ckey{kind: kindRoutes})
	case "token": // not cached
	case msgFormat: // every key record may have moved
		c.c.InvalidateAll()
	case "grant":
		api, stage, ok := strings.Cut(rest, ":")
		if !ok {
			typ = "unknown"
			c.c.InvalidateAll()
			break
		}
		c.verMu.Lock()
		c.grantVer[grantScope{api, stage}]++
		c.verMu.Unlock()
	case "limits":
		api, app, ok := strings.Cut(rest, ":")
		if !ok {
			typ = "unknown"
			c.c.InvalidateAll()
			break
		}
		c.c.Invalidate(ckey{kind: kindLimits, a: api, b: app})
	default:
		typ = "unknown"
		c.c.InvalidateAll()
	}
	if ctr := c.stats.invalidations[typ]; ctr != nil {
		ctr.Inc()
	}
}
