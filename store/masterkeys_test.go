package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// A write sealing under a master key the store does not know is refused
// before anything is written: such a record would be a 503 for every
// Check of its app.
func TestGuardSeal(t *testing.T) {
	ctx := context.Background()
	_, keyA := NewRandomKeyring()
	_, keyB := NewRandomKeyring()
	idA, idB := KeyID(keyA), KeyID(keyB)

	for name, tc := range map[string]struct {
		setup   func(t *testing.T, plain, a *Store)
		writer  []byte   // current key of the writing store
		old     [][]byte // keys it also opens
		refused bool
		wantIDs []string // recorded afterwards
	}{
		"empty store: the first key becomes known": {
			setup: func(*testing.T, *Store, *Store) {}, writer: keyA, wantIDs: []string{idA},
		},
		"known key": {
			setup: func(t *testing.T, _, a *Store) { mustCreateApp(t, a, "first") }, writer: keyA, wantIDs: []string{idA},
		},
		"unknown key": {
			setup: func(t *testing.T, _, a *Store) { mustCreateApp(t, a, "first") }, writer: keyB, refused: true, wantIDs: []string{idA},
		},
		"unknown key, even opening the known one (only rotate-master brings a key in)": {
			setup: func(t *testing.T, _, a *Store) { mustCreateApp(t, a, "first") }, writer: keyB, old: [][]byte{keyA}, refused: true, wantIDs: []string{idA},
		},
		"store from before the ids were recorded: read from its records": {
			setup: func(t *testing.T, _, a *Store) {
				mustCreateApp(t, a, "first")
				if err := a.rdb.Del(ctx, a.keys.masterKeys()).Err(); err != nil {
					t.Fatal(err)
				}
			},
			writer: keyB, refused: true, wantIDs: []string{idA},
		},
		"secrets in clear only: the first key becomes known": {
			setup: func(t *testing.T, plain, _ *Store) { mustCreateApp(t, plain, "first") }, writer: keyB, wantIDs: []string{idB},
		},
	} {
		t.Run(name, func(t *testing.T) {
			plain, rdb, _ := newTestStore(t)
			a := New(rdb, WithKeyring(mustKeyring(t, keyA)))
			tc.setup(t, plain, a)
			if plain.rdb.Exists(ctx, a.keys.app("first")).Val() == 0 {
				mustCreateApp(t, plain, "first") // an app to add keys to
			}
			before := keyNames(t, plain)
			w := New(rdb, WithKeyring(mustKeyring(t, tc.writer, tc.old...)))
			_, errApp := w.CreateApp(ctx, CreateAppParams{Name: "second"})
			_, errKey := New(rdb, WithKeyring(mustKeyring(t, tc.writer, tc.old...))).CreateKey(ctx, CreateKeyParams{AppID: "first"})
			errBulk := New(rdb, WithKeyring(mustKeyring(t, tc.writer, tc.old...))).BulkLoadKeys(ctx, "first", []BulkKey{{AppKey: "bulk-key-0123456789", Secret: "bulk-secret-1"}})
			_, errMigrate := New(rdb, WithKeyring(mustKeyring(t, tc.writer, tc.old...))).Migrate(ctx)
			for op, err := range map[string]error{"CreateApp": errApp, "CreateKey": errKey, "BulkLoadKeys": errBulk, "Migrate": errMigrate} {
				switch {
				case !tc.refused && err != nil:
					t.Errorf("%s: %v", op, err)
				case tc.refused && !errors.Is(err, ErrUnknownMasterKey):
					t.Errorf("%s: err %v, want ErrUnknownMasterKey", op, err)
				case tc.refused && !strings.Contains(err.Error(), "master key "+KeyID(tc.writer)+" does not seal any data in this store (it seals with "+idA+")"):
					t.Errorf("%s: err %q names neither the key given nor the one the store seals with", op, err)
				}
			}
			if after := keyNames(t, plain); tc.refused && !slices.Equal(after, before) {
				t.Errorf("a refused write changed Redis: keys %v, then %v", before, after)
			}
			if got, err := plain.SealingKeyIDs(ctx); err != nil || !slices.Equal(got, tc.wantIDs) {
				t.Errorf("SealingKeyIDs = %v, %v; want %v", got, err, tc.wantIDs)
			}
		})
	}
}

// Two first writers with different keys on an empty store: one wins, the
// other is refused, never both.
func TestGuardSealFirstWriters(t *testing.T) {
	ctx := context.Background()
	plain, rdb, _ := newTestStore(t)
	mustCreateApp(t, plain, "first")
	_, keyA := NewRandomKeyring()
	_, keyB := NewRandomKeyring()
	errs := make(chan error, 2)
	for _, k := range [][]byte{keyA, keyB} {
		go func() {
			_, err := New(rdb, WithKeyring(mustKeyring(t, k))).CreateKey(ctx, CreateKeyParams{AppID: "first"})
			errs <- err
		}()
	}
	var refused int
	for range 2 {
		if err := <-errs; errors.Is(err, ErrUnknownMasterKey) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := plain.SealingKeyIDs(ctx); refused != 1 || len(ids) != 1 {
		t.Errorf("%d writers refused, ids recorded %v: want exactly one key known", refused, ids)
	}
}

// rotate-master records the new key before sealing under it, drops the
// old one once nothing is sealed under it, and keeps it when it stops
// midway.
func TestRotateSecretsRecordsKeyIDs(t *testing.T) {
	ctx := context.Background()
	_, rdb, _ := newTestStore(t)
	_, oldKey := NewRandomKeyring()
	_, newKey := NewRandomKeyring()
	_, strayKey := NewRandomKeyring()
	oldStore := New(rdb, WithKeyring(mustKeyring(t, oldKey)))
	mustCreateApp(t, oldStore, "a")
	ids := func() []string {
		t.Helper()
		got, err := oldStore.SealingKeyIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Without the old key the first record does not open: nothing is
	// re-sealed, and the old key stays known.
	if _, err := New(rdb, WithKeyring(mustKeyring(t, newKey))).RotateSecrets(ctx); err == nil {
		t.Fatal("a rotation without the old key succeeded")
	}
	if got := ids(); !slices.Contains(got, KeyID(oldKey)) {
		t.Errorf("after a failed rotation the ids are %v: the old key %s, still sealing data, was dropped", got, KeyID(oldKey))
	}

	if _, err := New(rdb, WithKeyring(mustKeyring(t, newKey, oldKey))).RotateSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{KeyID(newKey)}) {
		t.Errorf("after rotation the ids are %v, want only the new key %s", got, KeyID(newKey))
	}
	if _, err := oldStore.CreateKey(ctx, CreateKeyParams{AppID: "a"}); !errors.Is(err, ErrUnknownMasterKey) {
		t.Errorf("after rotation a write with the old key: %v, want ErrUnknownMasterKey", err)
	}
	if _, err := New(rdb, WithKeyring(mustKeyring(t, newKey))).CreateKey(ctx, CreateKeyParams{AppID: "a"}); err != nil {
		t.Errorf("after rotation a write with the new key: %v", err)
	}
	if _, err := New(rdb, WithKeyring(mustKeyring(t, strayKey))).CreateKey(ctx, CreateKeyParams{AppID: "a"}); !errors.Is(err, ErrUnknownMasterKey) {
		t.Errorf("a write with a third key: %v, want ErrUnknownMasterKey", err)
	}
}

// Every live authzd must open the new key before rotate-master re-seals
// under it; each announces what it opens, for a while.
func TestCheckKeyReaders(t *testing.T) {
	ctx := context.Background()
	_, rdb, _ := newTestStore(t)
	_, oldKey := NewRandomKeyring()
	_, newKey := NewRandomKeyring()
	rotation := New(rdb, WithKeyring(mustKeyring(t, newKey, oldKey)))
	oldOnly := New(rdb, WithKeyring(mustKeyring(t, oldKey)))
	both := New(rdb, WithKeyring(mustKeyring(t, newKey, oldKey)))

	if err := rotation.CheckKeyReaders(ctx); err != nil {
		t.Errorf("no authzd announced: %v", err)
	}
	if err := both.AnnounceMasterKeys(ctx, "host-b:2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := rotation.CheckKeyReaders(ctx); err != nil {
		t.Errorf("every authzd opens the new key: %v", err)
	}
	if err := oldOnly.AnnounceMasterKeys(ctx, "host-a:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := New(rdb).AnnounceMasterKeys(ctx, "host-c:3", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := rotation.CheckKeyReaders(ctx)
	if !errors.Is(err, ErrKeyReaders) || !strings.Contains(err.Error(), "host-a:1 (opens "+KeyID(oldKey)+")") ||
		!strings.Contains(err.Error(), "host-c:3 (opens none)") || strings.Contains(err.Error(), "host-b") {
		t.Errorf("an authzd without the new key: %v, want ErrKeyReaders naming host-a:1 and host-c:3 only", err)
	}
	readers, err := rotation.MasterKeyReaders(ctx)
	if err != nil || !slices.Equal(readers["host-b:2"], []string{KeyID(newKey), KeyID(oldKey)}) {
		t.Errorf("MasterKeyReaders = %v, %v", readers, err)
	}
	if ttl := rdb.PTTL(ctx, rotation.keys.keyReader("host-a:1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("an announcement's TTL is %v, want it to expire within the minute given", ttl)
	}
	for _, inst := range []string{"host-a:1", "host-c:3"} {
		if err := rotation.WithdrawMasterKeys(ctx, inst); err != nil {
			t.Fatal(err)
		}
	}
	if err := rotation.CheckKeyReaders(ctx); err != nil {
		t.Errorf("after the old authzd left: %v", err)
	}
}

// keyNames lists the names in Redis but the master key ids, which a
// refused write may record from the records already there.
func keyNames(t *testing.T, s *Store) []string {
	t.Helper()
	names, err := s.rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == s.keys.masterKeys() })
	slices.Sort(names)
	return names
}
