package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/oauth2"
)

// OAuth2 tokens are kept as token:{sha256hex} → JSON {app_id, key_id,
// key_hash, scopes} with a TTL; the token itself is never stored. Two
// sorted sets index the live tokens (score = expiry in µs): app:{id}:tokens
// and key:{app_key hash}:tokens, so revoking or disabling a key or app deletes its
// tokens in the same MULTI, and a Check stays one GET.

//go:embed tokens.lua
var tokensSource string

var saveTokenScript = redis.NewScript(tokensSource)

// MaxTokensPerKey caps the live tokens of one app_key; past it the oldest
// end (tokens.lua). A well-behaved client holds one at a time.
const MaxTokensPerKey = 1000

var _ oauth2.Backend = (*Store)(nil)

// TokenClient reads an app_key's record and the failure counters of the
// key and the source address in one pipeline (oauth2.Backend).
func (s *Store) TokenClient(ctx context.Context, appKey, source string) (*oauth2.Client, oauth2.Failures, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	validKey := idPattern.MatchString(appKey)
	hash := authz.HashAppKey(appKey)
	var kc keyCmd
	var keyCount *redis.StringCmd
	var keyTTL *redis.DurationCmd
	if validKey {
		kc = s.queueKey(ctx, pipe, hash, appKey, s.legacy.Load())
		keyCount = pipe.Get(ctx, s.keys.authFailures("key", hash))
		keyTTL = pipe.PTTL(ctx, s.keys.authFailures("key", hash))
	}
	srcCount := pipe.Get(ctx, s.keys.authFailures("addr", source))
	srcTTL := pipe.PTTL(ctx, s.keys.authFailures("addr", source))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, oauth2.Failures{}, fmt.Errorf("store: token client: %w", err)
	}
	var f oauth2.Failures
	f.Source = counter(srcCount, srcTTL)
	if !validKey {
		return nil, f, nil
	}
	f.Key = counter(keyCount, keyTTL)
	k, err := s.readKey(hash, appKey, kc)
	if err != nil || k == nil {
		return nil, f, opErr("token client", err)
	}
	record := s.keys.key(hash)
	if len(kc.cur.Val()) == 0 { // a format-1 record (see format.go)
		record = s.keys.legacyKey(appKey)
	}
	return &oauth2.Client{AppID: k.AppID, KeyID: k.KeyID, KeyHash: hash, Record: record, Secret: k.Secret, Scopes: k.Scopes, Methods: k.Methods, Status: k.Status, ExpiresAt: k.ExpiresAt}, f, nil
}

func counter(n *redis.StringCmd, ttl *redis.DurationCmd) oauth2.Counter {
	c, _ := strconv.ParseInt(n.Val(), 10, 64) // absent: 0
	return oauth2.Counter{Count: c, TTL: max(ttl.Val(), 0)}
}

// SaveToken records an issued token (oauth2.Backend); see tokens.lua, and
// tokens_cluster.go for a Redis Cluster.
func (s *Store) SaveToken(ctx context.Context, t oauth2.Token) error {
	if !validHash(t.Hash) || !validHash(t.KeyHash) || !idPattern.MatchString(t.KeyID) || !idPattern.MatchString(t.AppID) {
		return fmt.Errorf("store: save token: malformed hash, key or app id")
	}
	if t.Record == "" {
		t.Record = s.keys.key(t.KeyHash)
	}
	if t.TTL < time.Millisecond {
		return fmt.Errorf("store: save token: TTL %v is too short", t.TTL)
	}
	rec, err := json.Marshal(tokenJSON{AppID: t.AppID, KeyID: t.KeyID, KeyHash: t.KeyHash, Scopes: t.Scopes})
	if err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return s.saveTokenCluster(ctx, cc, t, rec)
	}
	// The key's index sits beside its record (the same hash tag).
	keys := []string{t.Record, s.keys.app(t.AppID), s.keys.token(t.Hash), s.keys.appTokens(t.AppID), s.keys.recordTokens(t.Record)}
	res, err := saveTokenScript.Run(ctx, s.rdb, keys, t.AppID, rec, t.TTL.Milliseconds(), t.Hash, MaxTokensPerKey, s.keys.tokenNamePrefix()).Text()
	if err != nil {
		return fmt.Errorf("store: save token: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "gone":
		return oauth2.ErrClientGone
	case "disabled":
		return oauth2.ErrClientDisabled
	}
	return fmt.Errorf("store: save token: tokens.lua answered %q", res)
}

// RevokeToken deletes a token issued to appID (oauth2.Backend).
func (s *Store) RevokeToken(ctx context.Context, hash, appID string) error {
	_, err := s.dropToken(ctx, hash, appID)
	return err
}

// DropToken deletes a token whatever app holds it (`authzctl token
// revoke`) and reports whether it existed.
func (s *Store) DropToken(ctx context.Context, hash string) (bool, error) {
	return s.dropToken(ctx, hash, "")
}

// dropToken deletes a token and its index entries; owner, when set, must
// be the token's app.
func (s *Store) dropToken(ctx context.Context, hash, owner string) (bool, error) {
	if !validHash(hash) {
		return false, nil // no such record can exist
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.keys.token(hash)).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, opErr("revoke token", err)
	}
	var t tokenJSON
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return false, fmt.Errorf("store: revoke token: the record is not JSON: %w", err)
	}
	if owner != "" && t.AppID != owner {
		return false, oauth2.ErrNotOwner
	}
	err = s.txPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, s.keys.token(hash))
		if idPattern.MatchString(t.AppID) {
			pipe.ZRem(ctx, s.keys.appTokens(t.AppID), hash)
		}
		if kh := t.keyHash(); validHash(kh) {
			pipe.ZRem(ctx, s.keys.keyTokens(kh), hash)
		}
		s.publish(ctx, pipe, msgToken(hash))
		return nil
	})
	if err != nil {
		return false, opErr("revoke token", err)
	}
	return true, nil
}

// CountAuthFailure counts a failed client authentication (oauth2.Backend)
// against the existing key it named, or else against its source, never
// both: INCR and PEXPIRE in one MULTI, so the counter has a TTL.
func (s *Store) CountAuthFailure(ctx context.Context, keyHash, source string, window time.Duration) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	name := s.keys.authFailures("addr", source)
	if validHash(keyHash) {
		name = s.keys.authFailures("key", keyHash)
	}
	err := s.txPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Incr(ctx, name)
		pipe.PExpire(ctx, name, window)
		return nil
	})
	return opErr("count auth failure", err)
}

// watchTokens watches a token index and returns its members, for an
// admin write that deletes them in its MULTI (dropTokens): a token issued
// meanwhile changes the index and makes the write retry.
//
// On a Cluster, where nothing is watched, the index is swept again once
// the write is applied (see txcluster.go).
func (s *Store) watchTokens(ctx context.Context, tx txn, index string) ([]string, error) {
	if err := tx.Watch(ctx, index).Err(); err != nil {
		return nil, err
	}
	if ct, ok := tx.(*clusterTx); ok {
		ct.sweeps = append(ct.sweeps, index)
	}
	return tx.ZRange(ctx, index, 0, -1).Result()
}

// dropTokens queues the deletion of tokens and of their index entries.
// It removes the entries it read rather than the whole index: on a
// Cluster a token issued meanwhile may have joined the index, and the
// sweep after the write must still find it there (txcluster.go). Under
// WATCH the entries read are all there are, and an empty sorted set is
// no key.
func (s *Store) dropTokens(ctx context.Context, pipe redis.Pipeliner, index string, hashes []string) {
	if len(hashes) == 0 {
		return
	}
	members := make([]any, len(hashes))
	for i, h := range hashes {
		members[i] = h
		pipe.Del(ctx, s.keys.token(h))
		s.publish(ctx, pipe, msgToken(h))
	}
	pipe.ZRem(ctx, index, members...)
}
