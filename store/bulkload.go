package store

import (
	"context"
	"fmt"

	"github.com/appauthz/appauthz/authz"
)

// BulkKey is one key for BulkLoadKeys.
type BulkKey struct {
	AppKey, Secret string
	Scopes         []string
}

// bulkBatch is how many keys one pipeline of BulkLoadKeys writes.
const bulkBatch = 5000

// BulkLoadKeys writes many active keys of an existing app in pipelines of
// a few thousand, for load tests and imports: a million keys load in
// seconds rather than the minutes of one CreateKey each. Unlike CreateKey
// it takes no WATCH and no MULTI, so it does not check that a key is free
// (an existing key is overwritten) and is not atomic as a whole; each key
// is written with its key id, set membership and invalidation message.
func (s *Store) BulkLoadKeys(ctx context.Context, appID string, keys []BulkKey) error {
	if err := validID("app id", appID); err != nil {
		return err
	}
	for _, k := range keys {
		if err := validID("app_key", k.AppKey); err != nil {
			return err
		}
		if err := validKeyLength(k.AppKey, nil); err != nil {
			return err
		}
		if err := validSecret("app secret", k.Secret); err != nil {
			return err
		}
		if _, err := cleanList("scope", k.Scopes, nil); err != nil {
			return err // scopes become the x-appauthz-scopes header
		}
	}
	if err := s.guardSeal(ctx); err != nil {
		return fmt.Errorf("bulk load keys: %w", err)
	}
	n, err := s.rdb.Exists(ctx, s.keys.app(appID)).Result()
	if err != nil {
		return opErr("bulk load keys", err)
	}
	if n == 0 {
		return appNotFound(appID)
	}
	now := s.now()
	for start := 0; start < len(keys); start += bulkBatch {
		batch := keys[start:min(start+bulkBatch, len(keys))]
		pipe := s.rdb.Pipeline()
		for _, k := range batch {
			hash := authz.HashAppKey(k.AppKey)
			rec := authz.Key{KeyID: newKeyID(), AppID: appID, Secret: s.sealSecret(hash, k.Secret), Scopes: k.Scopes, Status: authz.StatusActive}
			s.queueNewKey(ctx, pipe, hash, rec, now)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("store: bulk load keys %d–%d of %d: %w", start, start+len(batch), len(keys), err)
		}
	}
	return nil
}
