package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// maxTxAttempts bounds the optimistic-locking retries of one admin write.
const maxTxAttempts = 16

// txn is what an admin write's callback reads and writes through: a
// *redis.Tx under WATCH on one Redis (single node, Sentinel), or a
// clusterTx under the admin lock on a Cluster (txcluster.go). Callbacks
// read with its commands, watch what they read with Watch, and queue their
// writes with TxPipelined.
type txn interface {
	redis.Cmdable
	Watch(ctx context.Context, keys ...string) *redis.StatusCmd
}

var _ txn = (*redis.Tx)(nil)

// watchTx runs fn atomically with the checks it makes ("this app_key is
// free") and the writes it queues.
//
// On one Redis it runs fn under WATCH keys (fn may watch more with
// tx.Watch) and retries when a concurrent write touched a watched key; the
// writes are one MULTI.
//
// A Cluster refuses WATCH and MULTI across slots, and an admin write spans
// several (each record has its own hash tag), so there fn runs under the
// cluster-wide admin lock instead, and its writes are applied in the order
// queued (see clusterTx): callbacks queue first the write that makes a
// reader fail closed.
func (s *Store) watchTx(ctx context.Context, fn func(txn) error, keys ...string) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return s.lockedTx(ctx, cc, fn)
	}
	for range maxTxAttempts {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error { return fn(tx) }, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("too many concurrent changes to the same records: try again")
}

// publish queues one invalidation message per changed record in the same
// MULTI as the write, so a cache never misses a change that was applied.
// On a Cluster each message follows the write it announces (clusterTx).
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

// keyNotFound names the key only by a key id: a ref that is not one is an
// app_key, a credential that must not be echoed.
func keyNotFound(ref string) error {
	if isKeyID(ref) {
		return fmt.Errorf("key %s %w: list an app's keys with `authzctl key list --app ID`", ref, ErrNotFound)
	}
	return fmt.Errorf("that key was %w: name it by the key_id shown by `authzctl key list --app ID`", ErrNotFound)
}

func apiNotFound(id string) error {
	return fmt.Errorf("api %q %w: list APIs with `authzctl api list`", id, ErrNotFound)
}
