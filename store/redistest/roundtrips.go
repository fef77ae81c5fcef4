package redistest

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// CountingHook is a go-redis hook that counts round trips: one per single
// command and one per pipeline or MULTI/EXEC block. Tests and benchmarks
// add it with client.AddHook to prove how many round trips a Check costs.
//
// Commands a call sends to set up a new connection (HELLO, CLIENT SETINFO,
// …) run inside that call's hook and are not counted: they are paid once
// per connection, not per Check.
type CountingHook struct{ n atomic.Int64 }

// nestedKey marks a context that is already inside a counted call.
type nestedKey struct{}

var _ redis.Hook = (*CountingHook)(nil)

// RoundTrips returns the count since the last Reset.
func (h *CountingHook) RoundTrips() int64 { return h.n.Load() }

// Reset sets the count to zero.
func (h *CountingHook) Reset() { h.n.Store(0) }

// DialHook passes dials through uncounted.
func (h *CountingHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook counts one round trip per command.
func (h *CountingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return next(h.count(ctx), cmd)
	}
}

// ProcessPipelineHook counts one round trip per pipeline.
func (h *CountingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return next(h.count(ctx), cmds)
	}
}

// count counts a call unless it runs inside another counted call.
func (h *CountingHook) count(ctx context.Context) context.Context {
	if ctx.Value(nestedKey{}) != nil {
		return ctx
	}
	h.n.Add(1)
	return context.WithValue(ctx, nestedKey{}, true)
}
