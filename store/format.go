package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The store's format version, kept at prefix + "format":
//
//	1  (no format key, data present) key records named by the app_key in
//	   clear, app key sets and token records holding app_keys, secrets
//	   sealed with the app_key as additional data.
//	2  key records named by the SHA-256 of the app_key, with a key id
//	   (keyid:{id} → hash), key sets of key ids, tokens naming key ids.
//
// authzd reads it at start and when `authzctl migrate` announces a change;
// while it is 1, key lookups also read the format-1 record in the same
// round trip, so existing keys keep working until the migration has run.
const FormatVersion = 2

// ErrLegacyFormat is returned to writers of a format-1 store.
var ErrLegacyFormat = errors.New("this Redis holds appauthz data of format 1 (app_keys in clear in key names): run `authzctl migrate` first")

// Format reads the store's format version: FormatVersion or an older one
// from the format key; without it, 1 when the store holds apps or APIs
// (written before the format key existed) and 0 when it is empty.
func (s *Store) Format(ctx context.Context) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.keys.format()).Result()
	if err == nil {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			return 0, fmt.Errorf("store: format: %s holds %q, not a version: set it back with `authzctl migrate`", s.keys.format(), v)
		}
		return n, nil
	}
	if !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("store: format: %w", err)
	}
	// EXISTS per key: on a Cluster each name is in its own slot.
	for _, k := range []string{s.keys.apps(), s.keys.apis(), s.keys.routes()} {
		n, err := s.rdb.Exists(ctx, k).Result()
		if err != nil {
			return 0, fmt.Errorf("store: format: %w", err)
		}
		if n > 0 {
			return 1, nil
		}
	}
	return 0, nil
}

// LoadFormat reads the format version and turns format-1 key lookups on
// or off to match. authzd calls it at start and on every invalidation
// subscription; a newer version than this binary knows is an error.
func (s *Store) LoadFormat(ctx context.Context) (int, error) {
	f, err := s.Format(ctx)
	if err != nil {
		return 0, err
	}
	if f > FormatVersion {
		return f, fmt.Errorf("store: this Redis holds appauthz data of format %d, newer than this binary reads (%d): upgrade it", f, FormatVersion)
	}
	s.legacy.Store(f == 1)
	return f, nil
}

// EnsureWritable is called before an admin write: it passes on a store of
// the current format, marks an empty store as such, and refuses a
// format-1 store (ErrLegacyFormat) until `authzctl migrate` has run.
func (s *Store) EnsureWritable(ctx context.Context) error {
	f, err := s.Format(ctx)
	switch {
	case err != nil:
		return err
	case f == 1:
		return ErrLegacyFormat
	case f > FormatVersion:
		return fmt.Errorf("store: this Redis holds appauthz data of format %d, newer than this binary writes (%d): upgrade authzctl", f, FormatVersion)
	case f == 0:
		ctx, cancel := s.bound(ctx)
		defer cancel()
		if err := s.rdb.SetNX(ctx, s.keys.format(), FormatVersion, 0).Err(); err != nil {
			return fmt.Errorf("store: format: %w", err)
		}
	}
	return nil
}
