package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A secret sealed under a master key no authzd holds makes its key record
// unusable: every Check of that app becomes a 503, X-App-Key included,
// since the record cannot be decoded. So the store records which master
// keys seal live data (the set keyspace.masterKeys) and writes seal only
// under one of them; the one way to bring in a new key is
// `authzctl secrets rotate-master`, which re-seals everything under it and
// runs only once every live authzd has announced it opens the new key
// (AnnounceMasterKeys).

// ErrUnknownMasterKey is returned by a write that would seal a secret
// under a master key that seals nothing in this store.
var ErrUnknownMasterKey = errors.New("unknown master key")

// ErrKeyReaders is returned by CheckKeyReaders when a running authzd does
// not open the master key a rotation would seal under.
var ErrKeyReaders = errors.New("a running authzd cannot open the new master key")

type unknownMasterKeyError struct {
	id    string
	known []string
}

func (e *unknownMasterKeyError) Error() string {
	return fmt.Sprintf("the master key %s does not seal any data in this store (it seals with %s): use the right --master-key-file, the file authzd uses; or, to move the store to this key, restart authzd with it as --master-key-file and the old one as --old-master-key-file, then run `authzctl secrets rotate-master` (docs/rotation.md)", e.id, strings.Join(e.known, ", "))
}

func (e *unknownMasterKeyError) Is(target error) bool { return target == ErrUnknownMasterKey }

// addIfEmptyScript records ARGV as the master key ids of a store that
// records none yet, atomically, so two first writers cannot both succeed
// with different keys; it returns the ids recorded. KEYS[1] the set.
var addIfEmptyScript = redis.NewScript(`if redis.call('SCARD', KEYS[1]) == 0 then redis.call('SADD', KEYS[1], unpack(ARGV)) end
return redis.call('SMEMBERS', KEYS[1])`)

// SealingKeyIDs returns the ids of the master keys sealing app secrets in
// this store, sorted. A store written before they were recorded is read
// once, record by record, and what it holds is recorded; a store without
// sealed secrets returns none.
func (s *Store) SealingKeyIDs(ctx context.Context) ([]string, error) {
	bctx, cancel := s.bound(ctx)
	ids, err := s.rdb.SMembers(bctx, s.keys.masterKeys()).Result()
	cancel()
	if err != nil {
		return nil, opErr("read master key ids", err)
	}
	if len(ids) == 0 {
		found, err := s.scanSealingKeyIDs(ctx)
		if err != nil || len(found) == 0 {
			return nil, err
		}
		if ids, err = s.recordIfEmpty(ctx, found); err != nil {
			return nil, err
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// scanSealingKeyIDs reads the master key id of every sealed secret.
func (s *Store) scanSealingKeyIDs(ctx context.Context) ([]string, error) {
	names, err := s.scanNames(ctx, s.keys.keyNames())
	if err != nil {
		return nil, opErr("read master key ids", err)
	}
	var ids []string
	for _, name := range names {
		if _, ok := s.keyRecordName(name); !ok {
			continue
		}
		bctx, cancel := s.bound(ctx)
		stored, err := s.rdb.HGet(bctx, name, "secret").Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, opErr("read master key ids", err)
		}
		if kid, ok := sealedKeyID(stored); ok && !slices.Contains(ids, kid) {
			ids = append(ids, kid)
		}
	}
	return ids, nil
}

// sealedKeyID is the master key id a stored secret is sealed under.
func sealedKeyID(stored string) (string, bool) {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	kid, _, ok := strings.Cut(rest, ":")
	return kid, sealed && ok && kid != ""
}

func (s *Store) recordIfEmpty(ctx context.Context, ids []string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	got, err := addIfEmptyScript.Run(ctx, s.rdb, []string{s.keys.masterKeys()}, args...).StringSlice()
	if err != nil {
		return nil, opErr("record master key ids", err)
	}
	return got, nil
}

// guardSeal refuses a write that would seal under a master key the store
// does not know. On a store sealing nothing yet, the current key becomes
// the known one. Without a Keyring (secrets in clear) nothing is sealed.
func (s *Store) guardSeal(ctx context.Context) error {
	// Not cached: another process may rotate the store's key meanwhile,
	// and admin writes are rare enough to afford one SMEMBERS each.
	if s.keyring == nil {
		return nil
	}
	ids, err := s.SealingKeyIDs(ctx)
	if err != nil {
		return err
	}
	kid := s.keyring.ID()
	if len(ids) == 0 {
		if ids, err = s.recordIfEmpty(ctx, []string{kid}); err != nil {
			return err
		}
		slices.Sort(ids)
	}
	if !slices.Contains(ids, kid) {
		return &unknownMasterKeyError{id: kid, known: ids}
	}
	return nil
}

// AnnounceMasterKeys says, for ttl, that the authzd named instance opens
// secrets sealed under the ids of the store's Keyring (none without one).
// authzd repeats it well within ttl, so an announcement outlives its
// instance by at most ttl.
func (s *Store) AnnounceMasterKeys(ctx context.Context, instance string, ttl time.Duration) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var ids []string
	if s.keyring != nil {
		ids = s.keyring.IDs()
	}
	if err := s.rdb.Set(ctx, s.keys.keyReader(instance), strings.Join(ids, " "), ttl).Err(); err != nil {
		return opErr("announce master keys", err)
	}
	return nil
}

// WithdrawMasterKeys ends instance's announcement (authzd at exit).
func (s *Store) WithdrawMasterKeys(ctx context.Context, instance string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return opErr("withdraw master keys", s.rdb.Del(ctx, s.keys.keyReader(instance)).Err())
}

// MasterKeyReaders returns the live announcements: per authzd instance,
// the master key ids it opens.
func (s *Store) MasterKeyReaders(ctx context.Context) (map[string][]string, error) {
	names, err := s.scanNames(ctx, s.keys.keyReaderNames())
	if err != nil {
		return nil, opErr("read authzd announcements", err)
	}
	out := make(map[string][]string, len(names))
	for _, name := range names {
		bctx, cancel := s.bound(ctx)
		v, err := s.rdb.Get(bctx, name).Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, opErr("read authzd announcements", err)
		}
		instance := strings.TrimSuffix(strings.TrimPrefix(name, s.keys.keyReaders()), "}")
		out[instance] = strings.Fields(v)
	}
	return out, nil
}

// CheckKeyReaders returns an error matching ErrKeyReaders, naming them,
// when a running authzd does not open the Keyring's current master key:
// re-sealing under it now would deny that authzd's Checks with a 503.
func (s *Store) CheckKeyReaders(ctx context.Context) error {
	if s.keyring == nil {
		return nil
	}
	readers, err := s.MasterKeyReaders(ctx)
	if err != nil {
		return err
	}
	kid := s.keyring.ID()
	var lacking []string
	for instance, ids := range readers {
		if !slices.Contains(ids, kid) {
			opens := strings.Join(ids, ", ")
			if opens == "" {
				opens = "none"
			}
			lacking = append(lacking, fmt.Sprintf("%s (opens %s)", instance, opens))
		}
	}
	if len(lacking) == 0 {
		return nil
	}
	slices.Sort(lacking)
	return fmt.Errorf("%w %s: %s: restart every authzd with --master-key-file NEW --old-master-key-file OLD first, then run rotate-master again (docs/rotation.md)", ErrKeyReaders, kid, strings.Join(lacking, "; "))
}

// addMasterKey records id as a master key sealing data.
func (s *Store) addMasterKey(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return opErr("record master key ids", s.rdb.SAdd(ctx, s.keys.masterKeys(), id).Err())
}

// retireMasterKeys records current as the only master key sealing data,
// once a rotation has re-sealed every secret under it.
func (s *Store) retireMasterKeys(ctx context.Context, current string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids, err := s.rdb.SMembers(ctx, s.keys.masterKeys()).Result()
	if err != nil {
		return opErr("record master key ids", err)
	}
	var old []any
	for _, id := range ids {
		if id != current {
			old = append(old, id)
		}
	}
	if len(old) == 0 {
		return nil
	}
	return opErr("record master key ids", s.rdb.SRem(ctx, s.keys.masterKeys(), old...).Err())
}
