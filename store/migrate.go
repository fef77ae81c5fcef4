package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// MigrateResult counts what Migrate changed (CLI contract JSON names).
type MigrateResult struct {
	From   int `json:"from"`   // format version found
	To     int `json:"to"`     // format version now
	Keys   int `json:"keys"`   // format-1 key records rewritten
	Tokens int `json:"tokens"` // token records rewritten
	Other  int `json:"other"`  // leftovers holding app_keys deleted (set members, indexes, counters)
}

// Migrate rewrites format-1 data to FormatVersion (format.go), then
// records the version and announces it, so authzd ends its format-1 reads:
//
//   - each key record key:{app_key} becomes key:{sha256(app_key)} with a
//     key id (the one authzd already reported for it, legacyKeyID), its
//     secret re-sealed with the new name as additional data, keyid:{id},
//     and the key id in its app's key set instead of the app_key;
//   - its token index moves with it, token records name the key id and
//     hash instead of the app_key;
//   - leftovers naming app_keys (stale set members, token indexes, failure
//     counters) are deleted.
//
// It runs online: authzd reads both layouts until the version changes, and
// each key moves in one atomic write (under the admin lock on a Cluster),
// the new record before the old one goes. Running it again changes
// nothing. Sealed secrets need the master key (WithKeyring).
func (s *Store) Migrate(ctx context.Context) (MigrateResult, error) {
	from, err := s.Format(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	res := MigrateResult{From: from, To: FormatVersion}
	if from > FormatVersion {
		return res, fmt.Errorf("store: this Redis holds appauthz data of format %d, newer than this binary knows (%d): upgrade authzctl", from, FormatVersion)
	}
	// Format-1 secrets are re-sealed under the current key: it must be
	// one the store knows, as for any write.
	if err := s.guardSeal(ctx); err != nil {
		return res, fmt.Errorf("migrate: %w", err)
	}
	kr := s.keyring
	if kr != nil {
		k := *kr
		k.plaintext = true // secrets in clear stay in clear
		kr = &k
	}

	names, err := s.scanNames(ctx, s.keys.keyNames())
	if err != nil {
		return res, opErr("migrate", err)
	}
	var leftovers []string
	for _, name := range names {
		inner, ok := s.keyRecordName(name)
		if !ok {
			// A token index: key:{…}:tokens. A format-1 one left without
			// its record holds an app_key in its name.
			if in, isIdx := strings.CutSuffix(strings.TrimPrefix(name, s.keys.keyNamePrefix()), "}:tokens"); isIdx && !validHash(in) {
				leftovers = append(leftovers, name)
			}
			continue
		}
		moved, err := s.migrateKey(ctx, kr, name, inner)
		if err != nil {
			return res, err
		}
		if moved {
			res.Keys++
		}
	}

	tokens, err := s.scanNames(ctx, s.keys.tokenNames())
	if err != nil {
		return res, opErr("migrate", err)
	}
	for _, name := range tokens {
		n, err := s.migrateToken(ctx, name)
		if err != nil {
			return res, err
		}
		res.Tokens += n
	}

	counters, err := s.scanNames(ctx, s.keys.authFailureNames("key"))
	if err != nil {
		return res, opErr("migrate", err)
	}
	for _, name := range counters {
		id := strings.TrimSuffix(strings.TrimPrefix(name, s.keys.authFailurePrefix("key")), "}")
		if !validHash(id) {
			leftovers = append(leftovers, name)
		}
	}
	sets, err := s.scanNames(ctx, s.keys.appKeySets())
	if err != nil {
		return res, opErr("migrate", err)
	}
	ctx2, cancel := s.bound(ctx)
	defer cancel()
	for _, set := range sets {
		members, err := s.rdb.SMembers(ctx2, set).Result()
		if err != nil {
			return res, opErr("migrate", err)
		}
		for _, m := range members {
			if !isKeyID(m) {
				if err := s.rdb.SRem(ctx2, set, m).Err(); err != nil {
					return res, opErr("migrate", err)
				}
				res.Other++
			}
		}
	}
	for _, name := range leftovers {
		if err := s.rdb.Del(ctx2, name).Err(); err != nil {
			return res, opErr("migrate", err)
		}
		res.Other++
	}

	// Data written before maxskew existed has none, and nonces would live
	// authz.MaxClockSkew until the next API write: compute it now.
	if err := s.refreshMaxSkew(ctx); err != nil {
		return res, opErr("migrate", err)
	}

	// Recorded last: a run that failed midway leaves format 1, so authzd
	// keeps reading both layouts and the next run finishes the work.
	if err := s.rdb.Set(ctx2, s.keys.format(), FormatVersion, 0).Err(); err != nil {
		return res, opErr("migrate", err)
	}
	if err := s.rdb.Publish(ctx2, s.keys.invalidate(), msgFormat).Err(); err != nil {
		return res, opErr("migrate", err)
	}
	s.legacy.Store(false)
	return res, nil
}

// migrateKey moves one format-1 key record (named by its app_key) to its
// hashed name; false when name holds no format-1 record.
func (s *Store) migrateKey(ctx context.Context, kr *Keyring, name, appKey string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	hash := authz.HashAppKey(appKey)
	if hash == appKey {
		return false, nil
	}
	newK, oldIdx, newIdx := s.keys.key(hash), s.keys.recordTokens(name), s.keys.keyTokens(hash)
	moved := false
	err := s.watchTx(ctx, func(tx txn) error {
		typ, err := tx.Type(ctx, name).Result()
		if err != nil || typ != "hash" {
			return err
		}
		h, err := tx.HGetAll(ctx, name).Result()
		if err != nil || len(h) == 0 || h["key_id"] != "" {
			return err // gone meanwhile, or already of format 2
		}
		if err := tx.Watch(ctx, newK, oldIdx).Err(); err != nil {
			return err
		}
		// A run that stopped after writing the new record keeps its id.
		kid, err := tx.HGet(ctx, newK, "key_id").Result()
		if errors.Is(err, redis.Nil) || kid == "" {
			kid = legacyKeyID(hash)
		} else if err != nil {
			return err
		}
		secret := h["secret"]
		if strings.HasPrefix(secret, sealedPrefix) {
			if kr == nil {
				return fmt.Errorf("key %s: %w: give --master-key-file (and --old-master-key-file during a rotation)", kid, ErrNoMasterKey)
			}
			clear, _, err := kr.open(appKey, secret)
			if err != nil {
				return err
			}
			secret = kr.seal(hash, clear)
		}
		idx, err := tx.ZRangeWithScores(ctx, oldIdx, 0, -1).Result()
		if err != nil {
			return err
		}
		idxTTL, err := tx.PTTL(ctx, oldIdx).Result()
		if err != nil {
			return err
		}
		fields := make(map[string]any, len(h)+1)
		for f, v := range h {
			fields[f] = v
		}
		fields["key_id"], fields["secret"] = kid, secret
		appID := h["app_id"]
		// The new record first: authzd reads both layouts meanwhile, and
		// on a Cluster the writes land in this order (txcluster.go).
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, newK, fields)
			pipe.Set(ctx, s.keys.keyID(kid), hash, 0)
			if len(idx) > 0 {
				pipe.ZAdd(ctx, newIdx, idx...)
				if idxTTL > 0 {
					pipe.PExpire(ctx, newIdx, idxTTL)
				}
			}
			if idPattern.MatchString(appID) {
				pipe.SAdd(ctx, s.keys.appKeys(appID), kid)
				pipe.SRem(ctx, s.keys.appKeys(appID), appKey)
			}
			pipe.Del(ctx, name, oldIdx)
			pipe.Del(ctx, s.keys.authFailures("key", appKey))
			s.publish(ctx, pipe, msgKey(hash))
			return nil
		})
		moved = err == nil
		return err
	}, name)
	if err != nil {
		return false, opErr("migrate", fmt.Errorf("key record %s: %w", recordLabel(appKey), err))
	}
	return moved, nil
}

// migrateToken rewrites a token record that names an app_key; 1 when it
// did. SET XX KEEPTTL: a token that ended meanwhile stays ended.
func (s *Store) migrateToken(ctx context.Context, name string) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, name).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, opErr("migrate", err)
	}
	var t tokenJSON
	if json.Unmarshal([]byte(v), &t) != nil || t.AppKey == "" {
		return 0, nil
	}
	hash := t.keyHash()
	kid, err := s.rdb.HGet(ctx, s.keys.key(hash), "key_id").Result()
	if err != nil || kid == "" {
		kid = legacyKeyID(hash)
	}
	b, _ := json.Marshal(tokenJSON{AppID: t.AppID, KeyID: kid, KeyHash: hash, Scopes: t.Scopes})
	if err := s.rdb.SetArgs(ctx, name, string(b), redis.SetArgs{Mode: "XX", KeepTTL: true}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return 0, opErr("migrate", err)
	}
	return 1, nil
}
