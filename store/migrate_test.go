package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// Format-1 data as an older appauthz wrote it, by hand: the app_key in
// key names, key sets, token records and failure counters, and the secret
// sealed with the app_key as additional data.
const (
	v1Key    = "legacy-app-key-0001"
	v1Secret = "legacy-secret-value-0001"
	v1Token  = "legacy-bearer-token"
)

func writeV1(t *testing.T, rdb redis.UniversalClient, kr *Keyring) {
	t.Helper()
	ctx := context.Background()
	tok := authz.HashToken(v1Token)
	rec, _ := json.Marshal(map[string]any{"app_id": "a1", "app_key": v1Key, "scopes": []string{"r"}})
	exp := float64(time.Now().Add(time.Hour).UnixMicro())
	for _, err := range []error{
		rdb.SAdd(ctx, "appauthz:apps", "a1").Err(),
		rdb.HSet(ctx, "appauthz:app:{a1}", "name", "Legacy", "status", "active", "created_at", "1700000000").Err(),
		rdb.SAdd(ctx, "appauthz:app:{a1}:keys", v1Key, "orphan-app-key-0001").Err(), // the second has no record
		rdb.HSet(ctx, "appauthz:key:{"+v1Key+"}", "app_id", "a1", "secret", kr.seal(v1Key, v1Secret), "scopes", "r",
			"status", "active", "expires_at", "0", "created_at", "1700000000").Err(),
		rdb.HSet(ctx, "appauthz:api:{orders}", "methods", "key,oauth2", "access", "authenticated").Err(),
		rdb.SAdd(ctx, "appauthz:apis", "orders").Err(),
		rdb.Set(ctx, "appauthz:token:{"+tok+"}", rec, time.Hour).Err(),
		rdb.ZAdd(ctx, "appauthz:app:{a1}:tokens", redis.Z{Score: exp, Member: tok}).Err(),
		rdb.ZAdd(ctx, "appauthz:key:{"+v1Key+"}:tokens", redis.Z{Score: exp, Member: tok}).Err(),
		rdb.Set(ctx, "appauthz:oauth2fail:{key:"+v1Key+"}", 1, time.Hour).Err(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dumpAll prints every key and value of the store, on every Cluster node.
func dumpAll(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	names, err := s.scanNames(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintln(&b, k)
		switch s.rdb.Type(ctx, k).Val() {
		case "hash":
			fmt.Fprintln(&b, s.rdb.HGetAll(ctx, k).Val())
		case "set":
			fmt.Fprintln(&b, s.rdb.SMembers(ctx, k).Val())
		case "zset":
			fmt.Fprintln(&b, s.rdb.ZRange(ctx, k, 0, -1).Val())
		case "string":
			fmt.Fprintln(&b, s.rdb.Get(ctx, k).Val())
		}
	}
	return b.String()
}

func TestMigrateFormat1(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (*Store, redis.UniversalClient){
		"single": func(t *testing.T) (*Store, redis.UniversalClient) {
			s, rdb, _ := newTestStore(t)
			return s, rdb
		},
		"cluster": func(t *testing.T) (*Store, redis.UniversalClient) {
			s, cc, _ := clusterStore(t)
			return s, cc
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, rdb := open(t)
			kr, _ := NewRandomKeyring()
			writeV1(t, rdb, kr)
			s := New(rdb, WithKeyring(kr), WithTimeout(2*time.Second))
			ctx := context.Background()
			hash := authz.HashAppKey(v1Key)
			kid := legacyKeyID(hash)

			if f, err := s.LoadFormat(ctx); err != nil || f != 1 {
				t.Fatalf("format of v1 data = %d, %v; want 1", f, err)
			}
			if err := s.EnsureWritable(ctx); !errors.Is(err, ErrLegacyFormat) || !strings.Contains(err.Error(), "authzctl migrate") {
				t.Fatalf("writes on a v1 store: %v, want ErrLegacyFormat", err)
			}
			check := func(when string) {
				t.Helper()
				e := authz.NewEngine(s)
				d := e.Check(ctx, &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"x-app-key": v1Key}, Context: map[string]string{"api": "orders"}})
				if !d.Allow || d.Identity.KeyID != kid {
					t.Fatalf("%s: key check %v %s %s, key id %q want %q", when, d.Allow, d.Reason, d.Message, d.Identity.KeyID, kid)
				}
				d = e.Check(ctx, &authz.Request{Method: "GET", Path: "/x", Headers: map[string]string{"authorization": "Bearer " + v1Token}, Context: map[string]string{"api": "orders"}})
				if !d.Allow || d.Identity.KeyID != kid {
					t.Fatalf("%s: token check %v %s, key id %q", when, d.Allow, d.Reason, d.Identity.KeyID)
				}
				cl, _, err := s.TokenClient(ctx, v1Key, "192.0.2.1")
				if err != nil || cl == nil || cl.Secret != v1Secret || cl.KeyID != kid {
					t.Fatalf("%s: token client %+v %v", when, cl, err)
				}
			}
			check("before migrate")
			// Reads show format-1 keys by their key id, never the app_key.
			if keys, err := s.ListKeys(ctx, "a1"); err != nil || len(keys) != 1 || keys[0].KeyID != kid {
				t.Errorf("key list before migrate = %+v, %v", keys, err)
			}
			if app, err := s.GetApp(ctx, "a1"); err != nil || strings.Contains(fmt.Sprint(app.Keys), v1Key) || !slices.Contains(app.Keys, kid) {
				t.Errorf("app before migrate = %+v, %v", app, err)
			}

			res, err := s.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.From != 1 || res.To != 2 || res.Keys != 1 || res.Tokens != 1 || res.Other != 1 {
				t.Errorf("first migrate = %+v", res)
			}
			if f, _ := s.Format(ctx); f != FormatVersion {
				t.Errorf("format after migrate = %d", f)
			}
			check("after migrate")
			if err := s.EnsureWritable(ctx); err != nil {
				t.Errorf("writes after migrate: %v", err)
			}
			before := dumpAll(t, s)
			if res, err = s.Migrate(ctx); err != nil || res != (MigrateResult{From: 2, To: 2}) {
				t.Errorf("second migrate = %+v, %v; want no change", res, err)
			}
			if after := dumpAll(t, s); after != before {
				t.Errorf("second migrate changed the data:\n%s\nthen\n%s", before, after)
			}
			if strings.Contains(before, v1Key) || strings.Contains(before, "orphan-app-key") || strings.Contains(before, v1Secret) {
				t.Errorf("an app_key or secret is still in clear in Redis:\n%s", before)
			}
			if keys, err := s.ListKeys(ctx, "a1"); err != nil || len(keys) != 1 || keys[0].KeyID != kid {
				t.Errorf("key list after migrate = %+v, %v", keys, err)
			}
			// The token index moved with the key: revoking it ends the token.
			if err := s.RevokeKey(ctx, kid); err != nil {
				t.Fatal(err)
			}
			if n := s.rdb.Exists(ctx, "appauthz:token:{"+authz.HashToken(v1Token)+"}").Val(); n != 0 {
				t.Error("the migrated key's token outlived its revocation")
			}
		})
	}
}

// A fresh store gets the current format at its first write; a store of a
// newer format is refused.
func TestFormatFreshAndNewer(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	if f, err := s.Format(ctx); err != nil || f != 0 {
		t.Fatalf("empty store format = %d, %v", f, err)
	}
	if err := s.EnsureWritable(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreateApp(t, s, "app1")
	if f, _ := s.Format(ctx); f != FormatVersion {
		t.Errorf("format after the first write = %d", f)
	}
	rdb.Set(ctx, "appauthz:format", 3, 0)
	if _, err := s.LoadFormat(ctx); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("newer format: %v", err)
	}
	if err := s.EnsureWritable(ctx); err == nil {
		t.Error("writes on a newer format succeeded")
	}
}

// A running authzd (a Store behind a Cache) serves format-1 keys through
// its cache, and ends its format-1 reads when another process's migration
// announces the new format; the cached key keeps working throughout.
func TestCacheFollowsMigration(t *testing.T) {
	_, rdb, _ := newTestStore(t)
	kr, _ := NewRandomKeyring()
	writeV1(t, rdb, kr)
	ctx := context.Background()
	daemon := New(rdb, WithKeyring(kr))
	c := startCache(t, daemon, CacheConfig{TTL: time.Hour})
	waitFor(t, "format 1 to be read on subscribe", daemon.legacy.Load)
	lookup := func() *authz.Key {
		r, err := c.Lookup(ctx, authz.LookupQuery{APIID: "orders", AppKeys: []string{v1Key}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Keys[authz.HashAppKey(v1Key)]
	}
	if k := lookup(); k == nil || k.Secret != v1Secret {
		t.Fatalf("format-1 key through the cache = %+v", k)
	}
	if _, err := New(rdb, WithKeyring(kr)).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cache to end format-1 reads", func() bool { return !daemon.legacy.Load() })
	if k := lookup(); k == nil || k.Secret != v1Secret || k.KeyID != legacyKeyID(authz.HashAppKey(v1Key)) {
		t.Fatalf("migrated key through the cache = %+v", k)
	}
}
