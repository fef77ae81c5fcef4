package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// is harmless.
func (s *Store) RotateSecrets(ctx context.Context) (RotateResult, error) {
	if s.keyring == nil {
		return RotateResult{}, fmt.Errorf("rotating secrets needs the new master key: give --master-key-file, and the old one with --old-master-key-file")
	}
	res := RotateResult{MasterKeyID: s.keyring.ID()}
	// Read in clear what is in clear, whatever the Keyring says: sealing
	// it is the point.
	kr := *s.keyring
	kr.plaintext = true

	iter := s.rdb.Scan(ctx, 0, globEscape(s.keys.prefix)+"key:{*}", 200).Iterator()
	for iter.Next(ctx) {
		name := iter.Val()
		appKey := strings.TrimSuffix(strings.TrimPrefix(name, s.keys.prefix+"key:{"), "}")
		if name != s.keys.key(appKey) {
			continue // not a key record
		}
		outcome, err := s.resealOne(ctx, &kr, name, appKey)
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
	if err := iter.Err(); err != nil {
		return res, opErr("rotate master key", err)
	}
	return res, nil
}

// resealOne re-seals one key's secret if it is not under the current
// master key, failing the write if the secret changed meanwhile.
func (s *Store) resealOne(ctx context.Context, kr *Keyring, name, appKey string) (string, error) {
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
		secret, kid, err := kr.open(appKey, stored)
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
			pipe.HSet(ctx, name, "secret", kr.seal(appKey, secret))
			s.publish(ctx, pipe, msgKey(appKey))
			return nil
		})
		return err
	}, name)
	if err != nil {
		return "", opErr("rotate master key", fmt.Errorf("app_key %q: %w", appKey, err))
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
