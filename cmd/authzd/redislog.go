package main

import (
	"context"
	"fmt"
	"log/slog"
)

// redisLogger routes go-redis's own log lines (dial failures, pool
// trouble) into authzd's JSON log, where they would otherwise appear as
// plain "redis: … pool.go:…" text that log pipelines cannot parse.
// Install it with redis.SetLogger before the first client is made.
type redisLogger struct{ log *slog.Logger }

// Printf logs one go-redis line at WARN: go-redis logs only what went
// wrong. Its text names addresses and errors, never a password.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "go-redis: "+fmt.Sprintf(format, v...), slog.String("component", "go-redis"))
}
