package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// The widest signature window of any API (maxskew, a string of
// milliseconds) is kept by every API write, in the same transaction, so
// authzd can keep replay nonces until no API now configured could accept
// their date (authz.LookupResult.MaxClockSkew) instead of for the longest
// window an API may ever have. No key (no API yet, or data written before
// it existed) reads as "unknown": nonces then live for authz.MaxClockSkew.

// storedSkew is the window of an API as its record holds it ("clock_skew"
// in seconds; empty or 0 is the default). A value that cannot be read
// counts as the widest, so it can only lengthen nonces.
func storedSkew(v string) time.Duration {
	if v == "" {
		return authz.DefaultClockSkew
	}
	secs, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || secs < 0 || secs > maxClockSkew.Seconds():
		return maxClockSkew
	case secs == 0:
		return authz.DefaultClockSkew
	}
	return time.Duration(secs * float64(time.Second))
}

// widestSkew is the widest window of the APIs once this write is applied:
// every API's stored window, except api's, which is skew (0: api is being
// deleted). It also returns the value stored now, to order the write.
//
// On one Redis the caller watches maxskew, which every API write sets:
// two writes racing over different APIs cannot both commit a maximum
// computed without the other's window. On a Cluster the admin lock
// serializes them.
func (s *Store) widestSkew(ctx context.Context, tx txn, api string, skew time.Duration) (widest, stored time.Duration, err error) {
	if err := tx.Watch(ctx, s.keys.maxSkew()).Err(); err != nil {
		return 0, 0, err
	}
	cur, err := tx.Get(ctx, s.keys.maxSkew()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, err
	}
	stored = parseMaxSkew(cur)
	ids, err := tx.SMembers(ctx, s.keys.apis()).Result()
	if err != nil {
		return 0, 0, err
	}
	pipe := tx.Pipeline()
	cmds := make([]*redis.StringCmd, 0, len(ids))
	for _, id := range ids {
		if id != api {
			cmds = append(cmds, pipe.HGet(ctx, s.keys.api(id), "clock_skew"))
		}
	}
	if len(cmds) > 0 {
		if err := execPipe(ctx, pipe); err != nil {
			return 0, 0, err
		}
	}
	widest = skew
	for _, c := range cmds {
		if errors.Is(c.Err(), redis.Nil) {
			continue // listed but gone: not an API
		}
		widest = max(widest, storedSkew(c.Val()))
	}
	return widest, stored, nil
}

// setMaxSkew queues the write of the widest window (none left: the key is
// deleted).
func (s *Store) setMaxSkew(ctx context.Context, pipe redis.Pipeliner, widest time.Duration) {
	if widest <= 0 {
		pipe.Del(ctx, s.keys.maxSkew())
		return
	}
	pipe.Set(ctx, s.keys.maxSkew(), strconv.FormatInt(widest.Milliseconds(), 10), 0)
}

// parseMaxSkew reads the stored value; anything unreadable is "unknown"
// (0), which the core treats as the longest window.
func parseMaxSkew(v string) time.Duration {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return min(time.Duration(ms)*time.Millisecond, maxClockSkew)
}

// MaxClockSkew reads the widest window of any API as stored (0: unknown),
// for `authzctl` and tests.
func (s *Store) MaxClockSkew(ctx context.Context) (time.Duration, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.keys.maxSkew()).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read the widest clock skew: %w", err)
	}
	return parseMaxSkew(v), nil
}

// maxSkewRecord is the cached value of maxskew.
type maxSkewRecord struct{ d time.Duration }

// refreshMaxSkew recomputes maxskew from every API, for data written
// before API writes kept it (authzctl migrate). It publishes as an API
// write does, so caches drop the old value.
func (s *Store) refreshMaxSkew(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.watchTx(ctx, func(tx txn) error {
		widest, stored, err := s.widestSkew(ctx, tx, "", 0)
		if err != nil || widest == stored {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			s.setMaxSkew(ctx, pipe, widest)
			s.publish(ctx, pipe, msgAPI(""))
			return nil
		})
		return err
	}, s.keys.maxSkew())
}
