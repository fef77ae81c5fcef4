package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Admin writes on a Redis Cluster. A Cluster runs WATCH and MULTI only
// within one hash slot, and an admin write spans several (an app, its key
// and its AppCode each have their own hash tag). So there:
//
//   - admin writers are serialized by one cluster-wide lock, a key with a
//     random value and a TTL, released by compare-and-delete; what a
//     callback checked ("this app_key is free") still holds when it writes,
//     as long as every writer is an appauthz admin write;
//   - a callback's writes are applied in the order it queued them, each run
//     of writes on one hash tag as one MULTI (atomic within the slot), then
//     its invalidation messages. Callbacks queue first the write that makes
//     a concurrent Check fail closed (delete the key record before its set
//     membership and tokens; create the app before the key that names it),
//     so a reader that sees a half-applied write is refused, never let in;
//   - tokens are issued without the lock (tokens_cluster.go); an admin
//     write that ends tokens sweeps their index again after its own writes,
//     which with the order leaves no token of an ended key or app.
//
// Writes of several slots are not all-or-nothing here: if Redis fails
// midway the command reports the error and the write can be finished by
// running it again or undone with the matching delete.

// adminLockTTL bounds how long a crashed writer blocks the others; it is
// far above the store timeout that bounds one admin write.
const adminLockTTL = 10 * time.Second

// maxLockWait bounds how long an admin write waits for the lock (the
// store timeout usually ends the wait first).
const maxLockWait = 5 * time.Second

// unlockScript deletes the lock only if it is still ours: one that expired
// and was taken by another writer stays.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// lockedTx runs an admin write's callback under the admin lock.
func (s *Store) lockedTx(ctx context.Context, cc *redis.ClusterClient, fn func(txn) error) error {
	token := randomHex(16)
	if err := s.lockAdmin(ctx, cc, token); err != nil {
		return err
	}
	defer s.unlockAdmin(ctx, cc, token)
	tx := &clusterTx{ClusterClient: cc}
	if err := fn(tx); err != nil {
		return err
	}
	return s.sweepTokens(ctx, cc, tx.sweeps)
}

func (s *Store) lockAdmin(ctx context.Context, cc *redis.ClusterClient, token string) error {
	key := s.keys.adminLock()
	wait, deadline := 5*time.Millisecond, time.Now().Add(maxLockWait)
	for {
		ok, err := cc.SetNX(ctx, key, token, adminLockTTL).Result()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("take the Cluster's admin lock %s: %w", key, err)
		}
		if ok {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("another admin write holds the Cluster's admin lock %s: try again (a lock left by a crashed writer ends by itself within %v)", key, adminLockTTL)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// unlockAdmin releases the lock even when ctx has ended; if that fails the
// lock ends by its TTL.
func (s *Store) unlockAdmin(ctx context.Context, cc *redis.ClusterClient, token string) {
	ctx, cancel := s.bound(context.WithoutCancel(ctx))
	defer cancel()
	unlockScript.Run(ctx, cc, []string{s.keys.adminLock()}, token)
}

// clusterTx is the txn of an admin write on a Cluster: reads go straight
// to the Cluster, Watch is not needed under the lock, and TxPipelined
// applies the queued writes in order.
type clusterTx struct {
	*redis.ClusterClient
	sweeps []string // token indexes to sweep once the writes are applied
}

// Watch does nothing: the admin lock keeps other admin writers out.
// (The embedded TxPipeline refuses writes across slots: callbacks use
// TxPipelined.)
func (c *clusterTx) Watch(ctx context.Context, _ ...string) *redis.StatusCmd {
	cmd := redis.NewStatusCmd(ctx, "watch")
	cmd.SetVal("OK")
	return cmd
}

// TxPipelined applies the writes fn queues, in order: each run of writes
// on one hash tag is one MULTI, and runs of deletions after the first
// write go together in one pipeline (their order does not matter: each
// only takes something away). The invalidation messages go last, once
// every write they announce is applied.
func (c *clusterTx) TxPipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	pipe := c.ClusterClient.Pipeline()
	if err := fn(pipe); err != nil {
		return nil, err
	}
	cmds := slices.Clone(pipe.Cmds())
	pipe.Discard()
	var writes, pubs []redis.Cmder
	for _, cmd := range cmds {
		if cmd.Name() == "publish" {
			pubs = append(pubs, cmd)
		} else {
			writes = append(writes, cmd)
		}
	}
	groups := slotRuns(writes)
	for i := 0; i < len(groups); {
		j := i + 1
		if i > 0 && onlyDeletes(groups[i]) {
			for j < len(groups) && onlyDeletes(groups[j]) {
				j++
			}
		}
		if err := c.apply(ctx, groups[i:j]); err != nil {
			return cmds, err
		}
		i = j
	}
	if len(pubs) > 0 {
		if _, err := c.ClusterClient.Pipelined(ctx, func(p redis.Pipeliner) error { return p.BatchProcess(ctx, pubs...) }); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}

// apply sends one group as a MULTI (it is one slot), or several as one
// plain pipeline, which the Cluster client splits by node.
func (c *clusterTx) apply(ctx context.Context, groups [][]redis.Cmder) error {
	var err error
	if len(groups) == 1 && len(groups[0]) > 1 {
		_, err = c.ClusterClient.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.BatchProcess(ctx, groups[0]...) })
	} else {
		_, err = c.ClusterClient.Pipelined(ctx, func(p redis.Pipeliner) error { return p.BatchProcess(ctx, slices.Concat(groups...)...) })
	}
	return err
}

// slotRuns splits cmds into runs of consecutive commands whose first key
// has the same hash tag, so each run lives in one slot.
func slotRuns(cmds []redis.Cmder) [][]redis.Cmder {
	var out [][]redis.Cmder
	for i, cmd := range cmds {
		if i > 0 && hashTag(firstKey(cmd)) == hashTag(firstKey(cmds[i-1])) && firstKey(cmd) != "" {
			out[len(out)-1] = append(out[len(out)-1], cmd)
			continue
		}
		out = append(out, []redis.Cmder{cmd})
	}
	return out
}

func onlyDeletes(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if c.Name() != "del" {
			return false
		}
	}
	return true
}

// firstKey is the key of a write queued by an admin callback: each takes
// its key first.
func firstKey(cmd redis.Cmder) string {
	if args := cmd.Args(); len(args) > 1 {
		if k, ok := args[1].(string); ok {
			return k
		}
	}
	return ""
}

// hashTag is the part of key that Redis Cluster hashes: the text between
// the first '{' and the next '}' when not empty, else the whole key. Keys
// with the same hash tag are in the same slot.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// sweepTokens ends the tokens left in indexes after an admin write that
// ended their key or app: a token issued while the write ran is either in
// its index by now or was refused at issue (tokens_cluster.go).
func (s *Store) sweepTokens(ctx context.Context, cc *redis.ClusterClient, indexes []string) error {
	for _, index := range indexes {
		hashes, err := cc.ZRange(ctx, index, 0, -1).Result()
		if err != nil {
			return fmt.Errorf("end the tokens of %s: %w", index, err)
		}
		if len(hashes) == 0 {
			continue
		}
		_, err = cc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, h := range hashes {
				pipe.Del(ctx, s.keys.token(h))
			}
			members := make([]any, len(hashes))
			for i, h := range hashes {
				members[i] = h
			}
			pipe.ZRem(ctx, index, members...)
			return nil
		})
		if err == nil {
			_, err = cc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, h := range hashes {
					s.publish(ctx, pipe, msgToken(h))
				}
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("end the tokens of %s: %w", index, err)
		}
	}
	return nil
}

// txPipelined runs fn's writes as one MULTI on one Redis; on a Cluster,
// where a MULTI spans one slot, in order as clusterTx applies them (each
// run of one hash tag a MULTI), without the admin lock: for writes that
// are safe to interleave with others (counters, deleting a token).
func (s *Store) txPipelined(ctx context.Context, fn func(redis.Pipeliner) error) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		_, err := (&clusterTx{ClusterClient: cc}).TxPipelined(ctx, fn)
		return err
	}
	_, err := s.rdb.TxPipelined(ctx, fn)
	return err
}
