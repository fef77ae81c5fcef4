package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// CreateKey adds an app_key/app_secret pair to an app. Empty key and secret
// are generated.
func (s *Store) CreateKey(ctx context.Context, p CreateKeyParams) (CreatedKey, error) {
	if validID("app id", p.AppID) != nil {
		return CreatedKey{}, appNotFound(p.AppID)
	}
	out := CreatedKey{AppID: p.AppID, AppKey: p.Key, AppSecret: p.Secret}
	if out.AppKey == "" {
		out.AppKey = newAppKey()
	} else if err := validID("app_key", out.AppKey); err != nil {
		return CreatedKey{}, err
	}
	if out.AppSecret == "" {
		out.AppSecret = newSecret()
	} else if err := validSecret("app secret", out.AppSecret); err != nil {
		return CreatedKey{}, err
	}
	scopes, err := cleanList("scope", p.Scopes, nil)
	if err != nil {
		return CreatedKey{}, err
	}
	expiry := authz.ExpiryOf(p.ExpiresAt)
	if err := validExpiry(expiry); err != nil {
		return CreatedKey{}, err
	}
	out.Scopes = scopes
	if out.Scopes == nil {
		out.Scopes = []string{} // JSON [] rather than null in the CLI output
	}
	now := s.now()
	appK, keyK := s.keys.app(p.AppID), s.keys.key(out.AppKey)

	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.watchTx(ctx, func(tx txn) error {
		n, err := tx.Exists(ctx, appK).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return appNotFound(p.AppID)
		}
		if err := mustNotExist(ctx, tx, keyK, fmt.Errorf("app_key %q %w: pick another --key or omit it to generate one", out.AppKey, ErrExists)); err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			k := authz.Key{AppID: p.AppID, Secret: s.sealSecret(out.AppKey, out.AppSecret), Scopes: scopes, Status: authz.StatusActive, ExpiresAt: expiry}
			pipe.HSet(ctx, keyK, encodeKey(k, now))
			pipe.SAdd(ctx, s.keys.appKeys(p.AppID), out.AppKey)
			s.publish(ctx, pipe, msgKey(out.AppKey))
			return nil
		})
		return err
	}, appK, keyK)
	if err != nil {
		return CreatedKey{}, opErr("create key", err)
	}
	return out, nil
}

// ListKeys lists an app's keys, sorted, without their secrets.
func (s *Store) ListKeys(ctx context.Context, appID string) ([]KeyInfo, error) {
	if validID("app id", appID) != nil {
		return nil, appNotFound(appID)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.keys.app(appID))
	members := pipe.SMembers(ctx, s.keys.appKeys(appID))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list keys", err)
	}
	if exists.Val() == 0 {
		return nil, appNotFound(appID)
	}
	names := members.Val()
	slices.Sort(names)
	pipe = s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(names))
	for i, k := range names {
		cmds[i] = pipe.HGetAll(ctx, s.keys.key(k))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list keys", err)
	}
	out := make([]KeyInfo, 0, len(names))
	for i, k := range names {
		h := cmds[i].Val()
		key, err := decodeKey(k, h)
		if err != nil {
			return nil, opErr("list keys", err)
		}
		if key == nil || key.AppID != appID {
			continue
		}
		created, _ := parseUnix("created_at", h["created_at"])
		info := KeyInfo{AppKey: k, AppID: appID, Scopes: key.Scopes, Status: string(key.Status), CreatedAt: created}
		if info.Scopes == nil {
			info.Scopes = []string{}
		}
		info.ExpiresAt = key.ExpiresAt.Ptr()
		out = append(out, info)
	}
	return out, nil
}

// RevokeKey deletes a key: it stops working at once and can be reused.
func (s *Store) RevokeKey(ctx context.Context, appKey string) error {
	return opErr("revoke key", s.updateKey(ctx, appKey, true, func(ctx context.Context, pipe redis.Pipeliner, keyK, appID string) {
		pipe.Del(ctx, keyK)
		pipe.SRem(ctx, s.keys.appKeys(appID), appKey)
	}))
}

// SetKeyStatus enables or disables one key.
func (s *Store) SetKeyStatus(ctx context.Context, appKey string, st authz.Status) error {
	if err := validStatus(st); err != nil {
		return err
	}
	return opErr("set key status", s.updateKey(ctx, appKey, st == authz.StatusDisabled, func(ctx context.Context, pipe redis.Pipeliner, keyK, _ string) {
		pipe.HSet(ctx, keyK, "status", string(st))
	}))
}

// updateKey runs write on an existing key atomically and publishes it;
// with dropTokens the key's OAuth2 tokens end in the same MULTI.
func (s *Store) updateKey(ctx context.Context, appKey string, dropTokens bool, write func(context.Context, redis.Pipeliner, string, string)) error {
	if validID("app_key", appKey) != nil {
		return keyNotFound(appKey)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keyK := s.keys.key(appKey)
	return s.watchTx(ctx, func(tx txn) error {
		h, err := tx.HGetAll(ctx, keyK).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return keyNotFound(appKey)
		}
		var tokens []string
		if dropTokens {
			if tokens, err = s.watchTokens(ctx, tx, s.keys.keyTokens(appKey)); err != nil {
				return err
			}
		}
		// The key record first: on a Cluster the writes land in order.
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			write(ctx, pipe, keyK, h["app_id"])
			if dropTokens {
				s.dropTokens(ctx, pipe, s.keys.keyTokens(appKey), tokens)
			}
			s.publish(ctx, pipe, msgKey(appKey))
			return nil
		})
		return err
	}, keyK)
}
