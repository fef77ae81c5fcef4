package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// maxTxAttempts bounds the optimistic-locking retries of one admin write.
const maxTxAttempts = 16

// watchTx runs fn under WATCH keys (fn may watch more with tx.Watch) and
// retries when a concurrent write touched a watched key, so checks such as
// "this app_key is free" and the write that follows are atomic. fn queues
// its writes with tx.TxPipelined.
func (s *Store) watchTx(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	for range maxTxAttempts {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("too many concurrent changes to the same records: try again")
}

// publish queues one invalidation message per changed record in the same
// MULTI as the write, so a cache never misses a change that was applied.
func (s *Store) publish(ctx context.Context, pipe redis.Pipeliner, msgs ...string) {
	for _, m := range msgs {
		pipe.Publish(ctx, s.keys.invalidate(), m)
	}
}

// opErr wraps a Redis failure of an admin operation with its name; the
// ErrNotFound and ErrExists errors built below already say what to do and
// pass through unchanged.
func opErr(op string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// notFound and exists build errors that say what to do next and match
// errors.Is(err, ErrNotFound / ErrExists).
func appNotFound(id string) error {
	return fmt.Errorf("app %q %w: list apps with `authzctl app list`", id, ErrNotFound)
}

func keyNotFound(k string) error {
	return fmt.Errorf("app_key %q %w: list an app's keys with `authzctl key list --app ID`", k, ErrNotFound)
}

func apiNotFound(id string) error {
	return fmt.Errorf("api %q %w: list APIs with `authzctl api list`", id, ErrNotFound)
}
