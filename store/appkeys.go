package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// CreateKey adds an app_key/app_secret pair to an app. Empty key and secret
// are generated. The key gets a key id, its public name; Redis keeps the
// app_key only as the SHA-256 that names the record.
func (s *Store) CreateKey(ctx context.Context, p CreateKeyParams) (CreatedKey, error) {
	if validID("app id", p.AppID) != nil {
		return CreatedKey{}, appNotFound(p.AppID)
	}
	methods, err := validKeyMethods(p.Methods)
	if err != nil {
		return CreatedKey{}, err
	}
	out := CreatedKey{AppID: p.AppID, KeyID: newKeyID(), AppKey: p.Key, AppSecret: p.Secret, Methods: methodNames(methods)}
	if out.AppKey == "" {
		out.AppKey = newAppKey()
	} else if err := validID("app_key", out.AppKey); err != nil {
		return CreatedKey{}, err
	} else if err := validKeyLength(out.AppKey, methods); err != nil {
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
	hash := authz.HashAppKey(out.AppKey)
	appK, keyK, idK := s.keys.app(p.AppID), s.keys.key(hash), s.keys.keyID(out.KeyID)
	if err := s.guardSeal(ctx); err != nil {
		return CreatedKey{}, fmt.Errorf("create key: %w", err)
	}

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
		if err := mustNotExist(ctx, tx, keyK, fmt.Errorf("that app_key %w: pick another --key or omit it to generate one", ErrExists)); err != nil {
			return err
		}
		if err := mustNotExist(ctx, tx, idK, fmt.Errorf("generated key id %s %w: run the command again", out.KeyID, ErrExists)); err != nil {
			return err
		}
		// The key record, then its id, then the set: on a Cluster the
		// writes land in order (txcluster.go).
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			k := authz.Key{KeyID: out.KeyID, AppID: p.AppID, Secret: s.sealSecret(hash, out.AppSecret), Scopes: scopes, Methods: methods, Status: authz.StatusActive, ExpiresAt: expiry}
			s.queueNewKey(ctx, pipe, hash, k, now)
			return nil
		})
		return err
	}, appK, keyK, idK)
	if err != nil {
		return CreatedKey{}, opErr("create key", err)
	}
	return out, nil
}

// queueNewKey queues the writes of a new key: its record, its id and its
// app's set membership, with the invalidation message.
func (s *Store) queueNewKey(ctx context.Context, pipe redis.Pipeliner, hash string, k authz.Key, now time.Time) {
	pipe.HSet(ctx, s.keys.key(hash), encodeKey(k, now))
	pipe.Set(ctx, s.keys.keyID(k.KeyID), hash, 0)
	pipe.SAdd(ctx, s.keys.appKeys(k.AppID), k.KeyID)
	s.publish(ctx, pipe, msgKey(hash))
}

func methodNames(ms []authz.Method) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// ListKeys lists an app's keys by key id, sorted, without their app_keys
// or secrets.
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
	ids := members.Val()
	slices.Sort(ids)
	hashes, err := s.keyHashes(ctx, s.rdb, ids)
	if err != nil {
		return nil, opErr("list keys", err)
	}
	pipe = s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, h := range hashes {
		switch {
		case h != "":
			cmds[i] = pipe.HGetAll(ctx, s.keys.key(h))
		case !isKeyID(ids[i]) && validID("app_key", ids[i]) == nil:
			// Format 1 (before `authzctl migrate`): the set holds the
			// app_key, which names the record; list it by its key id.
			hashes[i] = authz.HashAppKey(ids[i])
			cmds[i] = pipe.HGetAll(ctx, s.keys.legacyKey(ids[i]))
		}
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, opErr("list keys", err)
	}
	out := make([]KeyInfo, 0, len(ids))
	for i := range ids {
		if cmds[i] == nil {
			continue
		}
		h := cmds[i].Val()
		key, err := decodeKey(hashes[i], h)
		if err != nil {
			return nil, opErr("list keys", err)
		}
		if key == nil || key.AppID != appID {
			continue
		}
		created, _ := parseUnix("created_at", h["created_at"])
		info := KeyInfo{KeyID: key.KeyID, AppID: appID, Scopes: key.Scopes, Methods: methodNames(key.Methods), Status: string(key.Status), CreatedAt: created}
		if info.Scopes == nil {
			info.Scopes = []string{}
		}
		info.ExpiresAt = key.ExpiresAt.Ptr()
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out, nil
}

// keyHashes reads the record hash of each key id in one pipeline; "" for
// an id with no record.
func (s *Store) keyHashes(ctx context.Context, c redis.Cmdable, ids []string) ([]string, error) {
	out := make([]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := c.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, s.keys.keyID(id))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	for i, c := range cmds {
		if h := c.Val(); validHash(h) {
			out[i] = h
		}
	}
	return out, nil
}

// RevokeKey deletes a key, named by key id or app_key: it stops working
// at once and its app_key can be reused.
func (s *Store) RevokeKey(ctx context.Context, ref string) error {
	return opErr("revoke key", s.updateKey(ctx, ref, true, func(ctx context.Context, pipe redis.Pipeliner, keyK string, h map[string]string) {
		pipe.Del(ctx, keyK)
		if kid := h["key_id"]; kid != "" {
			pipe.Del(ctx, s.keys.keyID(kid))
			pipe.SRem(ctx, s.keys.appKeys(h["app_id"]), kid)
		}
	}))
}

// SetKeyStatus enables or disables one key, named by key id or app_key.
func (s *Store) SetKeyStatus(ctx context.Context, ref string, st authz.Status) error {
	if err := validStatus(st); err != nil {
		return err
	}
	return opErr("set key status", s.updateKey(ctx, ref, st == authz.StatusDisabled, func(ctx context.Context, pipe redis.Pipeliner, keyK string, _ map[string]string) {
		pipe.HSet(ctx, keyK, "status", string(st))
	}))
}

// resolveKey finds the record hash of a key named by its key id or by its
// app_key (hashed, as a Check does).
func (s *Store) resolveKey(ctx context.Context, ref string) (string, error) {
	if isKeyID(ref) {
		h, err := s.rdb.Get(ctx, s.keys.keyID(ref)).Result()
		if err == nil && validHash(h) {
			return h, nil
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", err
		}
		// Not a known id: it may still be an app_key of that shape.
	}
	if validID("app_key", ref) != nil {
		return "", keyNotFound(ref)
	}
	return authz.HashAppKey(ref), nil
}

// updateKey runs write on an existing key atomically and publishes it;
// with dropTokens the key's OAuth2 tokens end in the same MULTI.
func (s *Store) updateKey(ctx context.Context, ref string, dropTokens bool, write func(context.Context, redis.Pipeliner, string, map[string]string)) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	hash, err := s.resolveKey(ctx, ref)
	if err != nil {
		return err
	}
	keyK := s.keys.key(hash)
	return s.watchTx(ctx, func(tx txn) error {
		h, err := tx.HGetAll(ctx, keyK).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return keyNotFound(ref)
		}
		var tokens []string
		if dropTokens {
			if tokens, err = s.watchTokens(ctx, tx, s.keys.keyTokens(hash)); err != nil {
				return err
			}
		}
		// The key record first: on a Cluster the writes land in order.
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			write(ctx, pipe, keyK, h)
			if dropTokens {
				s.dropTokens(ctx, pipe, s.keys.keyTokens(hash), tokens)
			}
			s.publish(ctx, pipe, msgKey(hash))
			return nil
		})
		return err
	}, keyK)
}

// KeyIDOf returns the key id of a key named by key id or app_key, for
// commands that must answer with the id whatever the operator typed.
func (s *Store) KeyIDOf(ctx context.Context, ref string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	hash, err := s.resolveKey(ctx, ref)
	if err != nil {
		return "", err
	}
	kid, err := s.rdb.HGet(ctx, s.keys.key(hash), "key_id").Result()
	if errors.Is(err, redis.Nil) || (err == nil && kid == "") {
		return "", keyNotFound(ref)
	}
	if err != nil {
		return "", opErr("find key", err)
	}
	return kid, nil
}
