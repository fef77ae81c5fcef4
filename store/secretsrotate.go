package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RotateResult counts what RotateSecrets did (CLI contract JSON names).
type RotateResult struct {
	MasterKeyID string `json:"master_key_id"` // the key everything is now sealed under
	Keys        int    `json:"keys"`          // key records seen
	Resealed    int    `json:"resealed"`      // were sealed under an older master key
	Sealed      int    `json:"sealed"`        // were stored in clear
	Current     int    `json:"current"`       // already sealed under the current key
}

// RotateSecrets re-seals every app secret under the Keyring's current
// master key: those sealed under an older key it holds, and those stored
// in clear. It runs online: each key is rewritten on its own with a
// compare-and-set, and authzd keeps opening both forms as long as it is
// given the old master key too (--old-master-key-file). Running it twice
// is harmless. It records the new key as the one sealing the store's data
// (masterkeys.go), and drops the old ones once nothing is sealed under
// them. Run it only once every authzd opens the new key (CheckKeyReaders).
func (s *Store) RotateSecrets(ctx context.Context) (RotateResult, error) {
	if s.keyring == nil {
		return RotateResult{}, fmt.Errorf("rotating secrets needs the new master key: give --master-key-file, and the old one with --old-master-key-file")
	}
	res := RotateResult{MasterKeyID: s.keyring.ID()}
	// Read in clear what is in clear, whatever the Keyring says: sealing
	// it is the point.
	kr := *s.keyring
	kr.plaintext = true

	// The new key is recorded before anything is sealed under it, and the
	// old ones are dropped only once nothing is sealed under them.
	// SealingKeyIDs first: a store from before the ids were recorded gets
	// its old ids recorded too, so a run that stops midway leaves them known.
	if _, err := s.SealingKeyIDs(ctx); err != nil {
		return res, err
	}
	if err := s.addMasterKey(ctx, res.MasterKeyID); err != nil {
		return res, err
	}

	names, err := s.scanNames(ctx, s.keys.keyNames())
	if err != nil {
		return res, opErr("rotate master key", err)
	}
	for _, name := range names {
		inner, ok := s.keyRecordName(name)
		if !ok {
			continue // not a key record
		}
		outcome, err := s.resealOne(ctx, &kr, name, inner)
		if err != nil {
			return res, err
		}
		switch outcome {
		case "":
			continue // gone meanwhile, or not a key hash
		case "current":
			res.Current++
		case "sealed":
			res.Sealed++
		case "resealed":
			res.Resealed++
		}
		res.Keys++
	}
	if err := s.retireMasterKeys(ctx, res.MasterKeyID); err != nil {
		return res, err
	}
	return res, nil
}

// scanNames returns every key name matching pattern. A ClusterClient's
// SCAN reaches one node only, so on a Cluster every master is scanned.
func (s *Store) scanNames(ctx context.Context, pattern string) ([]string, error) {
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	slices.Sort(out)
	return slices.Compact(out), err
}

// keyRecordName returns the part of a key record's name between the
// braces (the app_key hash, or in format 1 the app_key), or false for a
// name that is no key record (a token index).
func (s *Store) keyRecordName(name string) (string, bool) {
	inner := strings.TrimSuffix(strings.TrimPrefix(name, s.keys.keyNamePrefix()), "}")
	return inner, name == s.keys.legacyKey(inner)
}

// resealOne re-seals one key's secret if it is not under the current
// master key, failing the write if the secret changed meanwhile. The
// additional data is the record's name, so no app_key is needed.
func (s *Store) resealOne(ctx context.Context, kr *Keyring, name, inner string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	outcome := ""
	err := s.watchTx(ctx, func(tx txn) error {
		typ, err := tx.Type(ctx, name).Result()
		if err != nil || typ != "hash" {
			return err
		}
		stored, err := tx.HGet(ctx, name, "secret").Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		secret, kid, err := kr.open(inner, stored)
		if err != nil {
			return err
		}
		switch kid {
		case kr.current:
			outcome = "current"
			return nil
		case "":
			outcome = "sealed"
		default:
			outcome = "resealed"
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, name, "secret", kr.seal(inner, secret))
			s.publish(ctx, pipe, msgKey(inner))
			return nil
		})
		return err
	}, name)
	if err != nil {
		return "", opErr("rotate master key", fmt.Errorf("key record %s: %w", recordLabel(inner), err))
	}
	return outcome, nil
}

// globEscape quotes the glob characters of a SCAN MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
