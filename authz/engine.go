package authz

import (
	"context"
	"time"
)

// Engine decides Checks. It is safe for concurrent use.
type Engine struct {
	store Store
	now   func() time.Time
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithClock injects the clock used for grants, key expiry and signature
// windows (tests).
func WithClock(now func() time.Time) EngineOption { return func(e *Engine) { e.now = now } }

// NewEngine returns an Engine over s.
func NewEngine(s Store, opts ...EngineOption) *Engine {
	e := &Engine{store: s, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Check decides one request. It never returns an allow by accident: every
// path that is not a verified credential with its grant is a deny.
func (e *Engine) Check(ctx context.Context, r *Request) Decision {
	return deny(ReasonStoreUnavailable, "SKELETON") // filled in by the engine work
}
