package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// CreateApp creates an app with its first key and its AppCode. Empty ids
// and credentials are generated; given ones are validated and imported.
// The app id, app_key and AppCode must all be free (ErrExists), checked and
// written atomically.
func (s *Store) CreateApp(ctx context.Context, p CreateAppParams) (CreatedApp, error) {
	out := CreatedApp{AppID: p.ID, Name: p.Name, KeyID: newKeyID(), AppKey: p.Key, AppSecret: p.Secret, AppCode: p.AppCode}
	if err := validName(p.Name); err != nil {
		return CreatedApp{}, err
	}
	methods, err := validKeyMethods(p.KeyMethods)
	if err != nil {
		return CreatedApp{}, err
	}
	if err := fillCredentials(&out, methods); err != nil {
		return CreatedApp{}, err
	}
	codeHash := authz.HashAppCode(out.AppCode)
	keyHash := authz.HashAppKey(out.AppKey)
	now := s.now()
	appK, keyK, idK, codeK := s.keys.app(out.AppID), s.keys.key(keyHash), s.keys.keyID(out.KeyID), s.keys.appCode(codeHash)
	if err := s.guardSeal(ctx); err != nil {
		return CreatedApp{}, fmt.Errorf("create app: %w", err)
	}

	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.watchTx(ctx, func(tx txn) error {
		if err := mustNotExist(ctx, tx, appK, fmt.Errorf("app id %q %w: pick another --id or omit it to generate one", out.AppID, ErrExists)); err != nil {
			return err
		}
		if err := mustNotExist(ctx, tx, keyK, fmt.Errorf("that app_key %w: pick another --key or omit it to generate one", ErrExists)); err != nil {
			return err
		}
		if err := mustNotExist(ctx, tx, idK, fmt.Errorf("generated key id %s %w: run the command again", out.KeyID, ErrExists)); err != nil {
			return err
		}
		if err := mustNotExist(ctx, tx, codeK, fmt.Errorf("that AppCode %w (another app uses it): pick another --appcode or omit it to generate one", ErrExists)); err != nil {
			return err
		}
		// The app before the key and AppCode that name it: on a Cluster
		// the writes land in this order (txcluster.go).
		_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, appK, "name", out.Name, "status", string(authz.StatusActive),
				"created_at", unixString(now), "appcode", codeHash)
			pipe.SAdd(ctx, s.keys.apps(), out.AppID)
			s.queueNewKey(ctx, pipe, keyHash, authz.Key{KeyID: out.KeyID, AppID: out.AppID, Secret: s.sealSecret(keyHash, out.AppSecret), Methods: methods, Status: authz.StatusActive}, now)
			pipe.HSet(ctx, codeK, "app_id", out.AppID, "status", string(authz.StatusActive))
			s.publish(ctx, pipe, msgApp(out.AppID), msgAppCode(codeHash))
			return nil
		})
		return err
	}, appK, keyK, idK, codeK)
	if err != nil {
		return CreatedApp{}, opErr("create app", err)
	}
	return out, nil
}

// fillCredentials generates what is empty and validates what was given.
func fillCredentials(a *CreatedApp, methods []authz.Method) error {
	if a.AppID == "" {
		a.AppID = newAppID()
	} else if err := validID("app id", a.AppID); err != nil {
		return err
	}
	if a.AppKey == "" {
		a.AppKey = newAppKey()
	} else if err := validID("app_key", a.AppKey); err != nil {
		return err
	} else if err := validKeyLength(a.AppKey, methods); err != nil {
		return err
	}
	if a.AppSecret == "" {
		a.AppSecret = newSecret()
	} else if err := validSecret("app secret", a.AppSecret); err != nil {
		return err
	}
	if a.AppCode == "" {
		a.AppCode = newAppCode()
	} else if err := validSecret("AppCode", a.AppCode); err != nil {
		return err
	}
	return nil
}

// mustNotExist returns taken when key exists.
func mustNotExist(ctx context.Context, tx txn, key string, taken error) error {
	n, err := tx.Exists(ctx, key).Result()
	if err != nil {
		return err
	}
	if n > 0 {
		return taken
	}
	return nil
}

// ListApps lists every app, sorted by id.
func (s *Store) ListApps(ctx context.Context) ([]AppInfo, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids, err := s.rdb.SMembers(ctx, s.keys.apps()).Result()
	if err != nil {
		return nil, opErr("list apps", err)
	}
	slices.Sort(ids)
	infos, err := s.appInfos(ctx, ids)
	return infos, opErr("list apps", err)
}

// GetApp describes one app.
func (s *Store) GetApp(ctx context.Context, id string) (AppInfo, error) {
	if validID("app id", id) != nil {
		return AppInfo{}, appNotFound(id)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	infos, err := s.appInfos(ctx, []string{id})
	if err != nil {
		return AppInfo{}, opErr("show app", err)
	}
	if len(infos) == 0 {
		return AppInfo{}, appNotFound(id)
	}
	return infos[0], nil
}

// appInfos reads apps in one pipeline, skipping ids with no app.
func (s *Store) appInfos(ctx context.Context, ids []string) ([]AppInfo, error) {
	pipe := s.rdb.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(ids))
	keySets := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		hashes[i] = pipe.HGetAll(ctx, s.keys.app(id))
		keySets[i] = pipe.SMembers(ctx, s.keys.appKeys(id))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	out := make([]AppInfo, 0, len(ids))
	for i, id := range ids {
		h := hashes[i].Val()
		if len(h) == 0 {
			continue
		}
		created, _ := parseUnix("created_at", h["created_at"])
		keys := keySets[i].Val()
		for j, k := range keys {
			if !isKeyID(k) { // format 1: an app_key, never shown
				keys[j] = legacyKeyID(authz.HashAppKey(k))
			}
		}
		slices.Sort(keys)
		out = append(out, AppInfo{
			AppID:      id,
			Name:       h["name"],
			Status:     string(statusOr(h["status"])),
			CreatedAt:  created,
			Keys:       keys,
			HasAppCode: h["appcode"] != "",
		})
	}
	return out, nil
}

// SetAppStatus enables or disables an app; its AppCode record follows, so
// the AppCode path sees the change without reading the app.
func (s *Store) SetAppStatus(ctx context.Context, id string, st authz.Status) error {
	if err := validStatus(st); err != nil {
		return err
	}
	if validID("app id", id) != nil {
		return appNotFound(id)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	appK := s.keys.app(id)
	err := s.watchTx(ctx, func(tx txn) error {
		h, err := tx.HGetAll(ctx, appK).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return appNotFound(id)
		}
		// Disabling ends the app's OAuth2 tokens; enabling does not bring
		// them back.
		var tokens []string
		if st == authz.StatusDisabled {
			if tokens, err = s.watchTokens(ctx, tx, s.keys.appTokens(id)); err != nil {
				return err
			}
		}
		// The app and its AppCode first, then the tokens: on a Cluster the
		// writes land in this order (txcluster.go).
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, appK, "status", string(st))
			s.publish(ctx, pipe, msgApp(id))
			if code := h["appcode"]; code != "" {
				pipe.HSet(ctx, s.keys.appCode(code), "app_id", id, "status", string(st))
				s.publish(ctx, pipe, msgAppCode(code))
			}
			if st == authz.StatusDisabled {
				s.dropTokens(ctx, pipe, s.keys.appTokens(id), tokens)
			}
			return nil
		})
		return err
	}, appK)
	return opErr("set app status", err)
}

// DeleteApp removes an app with its keys, AppCode, grants and tokens; its
// app_keys and AppCode can then be reused.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	if validID("app id", id) != nil {
		return appNotFound(id)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	appK, keysK, grantsK, tokensK := s.keys.app(id), s.keys.appKeys(id), s.keys.appGrants(id), s.keys.appTokens(id)
	err := s.watchTx(ctx, func(tx txn) error {
		h, err := tx.HGetAll(ctx, appK).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return appNotFound(id)
		}
		keyIDs, err := tx.SMembers(ctx, keysK).Result()
		if err != nil {
			return err
		}
		hashes, err := s.keyHashes(ctx, tx, keyIDs)
		if err != nil {
			return err
		}
		idOf := map[string]string{}
		for i, h := range hashes {
			if h != "" {
				idOf[h] = keyIDs[i]
			}
		}
		grants, err := tx.SMembers(ctx, grantsK).Result()
		if err != nil {
			return err
		}
		tokens, err := s.watchTokens(ctx, tx, tokensK)
		if err != nil {
			return err
		}
		dropLimits, err := s.limitsOfApp(ctx, tx, id)
		if err != nil {
			return err
		}
		// Delete only records that still name this app: a stale set member
		// must never take another app's key or AppCode with it.
		owned, err := s.ownedBy(ctx, tx, id, slices.Collect(maps.Keys(idOf)), s.keys.key)
		if err != nil {
			return err
		}
		var codes []string
		if code := h["appcode"]; code != "" {
			if codes, err = s.ownedBy(ctx, tx, id, []string{code}, s.keys.appCode); err != nil {
				return err
			}
		}
		// The app record first: once it is gone every Check of the app is
		// refused, whatever of the rest a Cluster has applied yet.
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Del(ctx, appK, keysK, grantsK)
			pipe.SRem(ctx, s.keys.apps(), id)
			dropLimits(pipe)
			s.publish(ctx, pipe, msgApp(id))
			for _, h := range owned {
				pipe.Del(ctx, s.keys.key(h), s.keys.keyTokens(h))
				pipe.Del(ctx, s.keys.keyID(idOf[h]))
				s.publish(ctx, pipe, msgKey(h))
			}
			for _, c := range codes {
				pipe.Del(ctx, s.keys.appCode(c))
				s.publish(ctx, pipe, msgAppCode(c))
			}
			for _, g := range grants {
				apiID, stage, ok := strings.Cut(g, " ")
				if !ok {
					continue
				}
				pipe.HDel(ctx, s.keys.grant(apiID, stage), id)
				pipe.SRem(ctx, s.keys.apiGrants(apiID), grantMember(id, stage))
				s.publish(ctx, pipe, msgGrant(apiID, stage))
			}
			s.dropTokens(ctx, pipe, tokensK, tokens)
			return nil
		})
		return err
	}, appK, keysK, grantsK, tokensK)
	return opErr("delete app", err)
}

// ownedBy watches the records named by ids and returns those whose app_id
// field is appID.
func (s *Store) ownedBy(ctx context.Context, tx txn, appID string, ids []string, key func(string) string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = key(id)
	}
	if err := tx.Watch(ctx, names...).Err(); err != nil {
		return nil, err
	}
	pipe := tx.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, n := range names {
		cmds[i] = pipe.HGet(ctx, n, "app_id")
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, err
	}
	var out []string
	for i, id := range ids {
		if v, err := cmds[i].Result(); err == nil && v == appID {
			out = append(out, id)
		} else if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return out, nil
}
