package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/oauth2"
)

// saveTok records a token for app id's key and returns its hash.
func saveTok(t *testing.T, s *Store, appID, appKey string) string {
	t.Helper()
	h := authz.HashToken(fmt.Sprintf("tok-%s-%d", appKey, time.Now().UnixNano()))
	if err := s.SaveToken(context.Background(), oauth2.Token{Hash: h, AppID: appID, KeyID: "kid_test", KeyHash: authz.HashAppKey(appKey), Scopes: []string{"r"}, TTL: time.Hour}); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
	return h
}

func liveTokens(t *testing.T, s *Store, hashes ...string) []string {
	t.Helper()
	res, err := s.Lookup(context.Background(), authz.LookupQuery{TokenHashes: hashes})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hashes {
		if res.Tokens[h] != nil {
			out = append(out, h)
		}
	}
	return out
}

func TestTokensLifecycle(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newTestStore(t)
	a, b := mustCreateApp(t, s, "a"), mustCreateApp(t, s, "b")
	k2, err := s.CreateKey(ctx, CreateKeyParams{AppID: "a"})
	if err != nil {
		t.Fatal(err)
	}

	h := saveTok(t, s, "a", a.AppKey)
	res, err := s.Lookup(ctx, authz.LookupQuery{TokenHashes: []string{h}})
	if err != nil || res.Tokens[h] == nil || res.Tokens[h].KeyID != "kid_test" || !slices.Equal(res.Tokens[h].Scopes, []string{"r"}) {
		t.Fatalf("Lookup of a saved token = %+v, %v", res.Tokens[h], err)
	}
	if ttl := rdb.PTTL(ctx, "appauthz:token:{"+h+"}").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("token TTL %v, want within 1h", ttl)
	}

	t.Run("revoke by owner only", func(t *testing.T) {
		h := saveTok(t, s, "a", a.AppKey)
		if err := s.RevokeToken(ctx, h, "b"); !errors.Is(err, oauth2.ErrNotOwner) {
			t.Errorf("revoke by another app: %v", err)
		}
		if err := s.RevokeToken(ctx, h, "a"); err != nil || len(liveTokens(t, s, h)) != 0 {
			t.Errorf("revoke by owner: %v, live %v", err, liveTokens(t, s, h))
		}
		if found, err := s.DropToken(ctx, h); found || err != nil {
			t.Errorf("dropping a revoked token: %v %v", found, err)
		}
	})
	t.Run("disabling a key ends its tokens only", func(t *testing.T) {
		mine, other := saveTok(t, s, "a", a.AppKey), saveTok(t, s, "a", k2.AppKey)
		if err := s.SetKeyStatus(ctx, a.AppKey, authz.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if got := liveTokens(t, s, mine, other); !slices.Equal(got, []string{other}) {
			t.Errorf("live after disable = %v, want only the other key's", got)
		}
		if err := s.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken("x1"), AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(a.AppKey), TTL: time.Hour}); !errors.Is(err, oauth2.ErrClientDisabled) {
			t.Errorf("SaveToken for a disabled key: %v", err)
		}
		if err := s.SetKeyStatus(ctx, a.AppKey, authz.StatusActive); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("revoking a key ends its tokens", func(t *testing.T) {
		h := saveTok(t, s, "a", k2.AppKey)
		if err := s.RevokeKey(ctx, k2.AppKey); err != nil {
			t.Fatal(err)
		}
		if len(liveTokens(t, s, h)) != 0 {
			t.Error("token of a revoked key still resolves")
		}
		if err := s.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken("x2"), AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(k2.AppKey), TTL: time.Hour}); !errors.Is(err, oauth2.ErrClientGone) {
			t.Errorf("SaveToken for a revoked key: %v", err)
		}
	})
	t.Run("disabling an app ends its tokens", func(t *testing.T) {
		h, hb := saveTok(t, s, "a", a.AppKey), saveTok(t, s, "b", b.AppKey)
		if err := s.SetAppStatus(ctx, "a", authz.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if got := liveTokens(t, s, h, hb); !slices.Equal(got, []string{hb}) {
			t.Errorf("live after app disable = %v", got)
		}
		if err := s.SaveToken(ctx, oauth2.Token{Hash: authz.HashToken("x3"), AppID: "a", KeyID: "kid_test", KeyHash: authz.HashAppKey(a.AppKey), TTL: time.Hour}); !errors.Is(err, oauth2.ErrClientDisabled) {
			t.Errorf("SaveToken for a disabled app: %v", err)
		}
		if err := s.SetAppStatus(ctx, "a", authz.StatusActive); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deleting an app ends its tokens and indexes", func(t *testing.T) {
		h := saveTok(t, s, "b", b.AppKey)
		if err := s.DeleteApp(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if len(liveTokens(t, s, h)) != 0 {
			t.Error("token of a deleted app still resolves")
		}
		if n := rdb.Exists(ctx, "appauthz:app:{b}:tokens", "appauthz:key:{"+authz.HashAppKey(b.AppKey)+"}:tokens").Val(); n != 0 {
			t.Errorf("%d token indexes of the deleted app remain", n)
		}
	})
	t.Run("a key holds at most MaxTokensPerKey", func(t *testing.T) {
		first := saveTok(t, s, "a", a.AppKey)
		for range MaxTokensPerKey {
			saveTok(t, s, "a", a.AppKey)
		}
		if n := rdb.ZCard(ctx, "appauthz:key:{"+authz.HashAppKey(a.AppKey)+"}:tokens").Val(); n != MaxTokensPerKey {
			t.Errorf("key index holds %d tokens, want %d", n, MaxTokensPerKey)
		}
		if len(liveTokens(t, s, first)) != 0 {
			t.Error("the oldest token survived the cap")
		}
	})
}

func TestAuthFailureCounters(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newTestStore(t)
	a := mustCreateApp(t, s, "a")
	for range 2 {
		if err := s.CountAuthFailure(ctx, authz.HashAppKey(a.AppKey), "192.0.2.1", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CountAuthFailure(ctx, "", "192.0.2.1", time.Minute); err != nil {
		t.Fatal(err)
	}
	cl, f, err := s.TokenClient(ctx, a.AppKey, "192.0.2.1")
	if err != nil || cl == nil || cl.Secret != a.AppSecret || cl.AppID != "a" {
		t.Fatalf("TokenClient = %+v, %v", cl, err)
	}
	if f.Key.Count != 2 || f.Source.Count != 3 || f.Key.TTL <= 0 || f.Source.TTL > time.Minute {
		t.Errorf("failures = %+v, want key 2 and source 3 with TTLs", f)
	}
	cl, f, err = s.TokenClient(ctx, "no-such-key", "198.51.100.1")
	if err != nil || cl != nil || f != (oauth2.Failures{}) {
		t.Errorf("unknown key from a fresh source: %+v %+v %v", cl, f, err)
	}
	for _, k := range rdb.Keys(ctx, "appauthz:oauth2fail:*").Val() {
		if rdb.PTTL(ctx, k).Val() <= 0 {
			t.Errorf("%s has no TTL", k)
		}
	}
}
