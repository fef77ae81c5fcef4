package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestCreateKey(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	exp := testNow.Add(24 * time.Hour)

	tests := map[string]struct {
		p       CreateKeyParams
		is      error
		message string
	}{
		"generated":      {p: CreateKeyParams{AppID: "app1"}},
		"imported":       {p: CreateKeyParams{AppID: "app1", Key: "k2-0123456789abc", Secret: "s3cr3t-value", Scopes: []string{"read", "write", "read"}, ExpiresAt: &exp}},
		"short signer":   {p: CreateKeyParams{AppID: "app1", Key: "k3", Secret: "s3cr3t-value", Methods: []authz.Method{authz.MethodHMAC}}},
		"short bare key": {p: CreateKeyParams{AppID: "app1", Key: "k4-short-15char", Secret: "s3cr3t-value"}, message: "at least 16"},
		"short key+hmac": {p: CreateKeyParams{AppID: "app1", Key: "k5", Methods: []authz.Method{authz.MethodHMAC, authz.MethodKey}}, message: "at least 16"},
		"appcode method": {p: CreateKeyParams{AppID: "app1", Methods: []authz.Method{authz.MethodAppCode}}, message: "invalid key method"},
		"unknown app":    {p: CreateKeyParams{AppID: "ghost"}, is: ErrNotFound, message: "authzctl app list"},
		"key taken":      {p: CreateKeyParams{AppID: "app1", Key: "app1-key-0123456789"}, is: ErrExists, message: "--key"},
		"bad key":        {p: CreateKeyParams{AppID: "app1", Key: "has space"}, message: "invalid app_key"},
		"bad secret":     {p: CreateKeyParams{AppID: "app1", Secret: "2short"}, message: "8 to 256"},
		"scope w/ comma": {p: CreateKeyParams{AppID: "app1", Scopes: []string{"a,b"}}, message: "invalid scope"},
		"scope w/ space": {p: CreateKeyParams{AppID: "app1", Scopes: []string{"a b"}}, message: "invalid scope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.CreateKey(ctx, tc.p)
			if tc.message != "" || tc.is != nil {
				if err == nil {
					t.Fatalf("CreateKey succeeded: %+v", got)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error %q is not %v", err, tc.is)
				}
				if !strings.Contains(err.Error(), tc.message) {
					t.Errorf("error %q does not mention %q", err, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{got.AppKey}})
			if err != nil {
				t.Fatal(err)
			}
			k := res.Keys[authz.HashAppKey(got.AppKey)]
			if k == nil {
				t.Fatalf("created key %q not found by Lookup", got.AppKey)
			}
			if !isKeyID(got.KeyID) || k.KeyID != got.KeyID || !slices.Equal(methodNames(k.Methods), got.Methods) {
				t.Errorf("key id %q / %q, methods %v / %v", got.KeyID, k.KeyID, k.Methods, got.Methods)
			}
			if k.AppID != "app1" || k.Secret != got.AppSecret || k.Status != authz.StatusActive ||
				!slices.Equal(k.Scopes, got.Scopes) && len(k.Scopes)+len(got.Scopes) > 0 || !k.ExpiresAt.Equal(authz.ExpiryOf(tc.p.ExpiresAt)) {
				t.Errorf("Lookup key = %+v, created %+v", k, got)
			}
		})
	}
	res, _ := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"k2-0123456789abc"}})
	if got := res.Keys[authz.HashAppKey("k2-0123456789abc")].Scopes; !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("scopes = %v, want deduplicated [read write]", got)
	}
}

func TestListKeysRevokeStatus(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	exp := testNow.Add(time.Hour)
	b, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "b-key-0123456789", Scopes: []string{"x"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}

	keys, err := s.ListKeys(ctx, "app1")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("ListKeys = %+v", keys)
	}
	if keys[0].KeyID == b.KeyID { // sorted by key id, which is random
		keys[0], keys[1] = keys[1], keys[0]
	}
	if !isKeyID(keys[0].KeyID) || keys[1].KeyID != b.KeyID {
		t.Fatalf("ListKeys = %+v", keys)
	}
	if keys[0].ExpiresAt != nil || keys[1].ExpiresAt == nil || !keys[1].ExpiresAt.Equal(exp) {
		t.Errorf("expiries = %v, %v; want nil, %v", keys[0].ExpiresAt, keys[1].ExpiresAt, exp)
	}
	if !keys[0].CreatedAt.Equal(testNow) || keys[1].Status != "active" || !slices.Equal(keys[1].Scopes, []string{"x"}) {
		t.Errorf("ListKeys = %+v", keys)
	}

	bHash := authz.HashAppKey("b-key-0123456789")
	// By key id, and by app_key (hashed to find the record).
	if err := s.SetKeyStatus(ctx, b.KeyID, authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	res, _ := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"b-key-0123456789"}})
	if res.Keys[bHash].Status != authz.StatusDisabled {
		t.Errorf("status after disable = %q", res.Keys[bHash].Status)
	}
	if err := s.SetKeyStatus(ctx, "b-key-0123456789", authz.StatusActive); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"b-key-0123456789"}})
	if res.Keys[bHash].Status != authz.StatusActive {
		t.Errorf("status after enable by app_key = %q", res.Keys[bHash].Status)
	}

	if err := s.RevokeKey(ctx, b.KeyID); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"b-key-0123456789"}})
	if _, ok := res.Keys[bHash]; ok {
		t.Error("revoked key still found")
	}
	if n, _ := s.rdb.Exists(ctx, s.keys.keyID(b.KeyID)).Result(); n != 0 {
		t.Error("revoked key's id index is still there")
	}
	keys, _ = s.ListKeys(ctx, "app1")
	if len(keys) != 1 {
		t.Errorf("ListKeys after revoke = %+v", keys)
	}
	// A revoked key can be created again.
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "b-key-0123456789"}); err != nil {
		t.Errorf("re-creating a revoked key: %v", err)
	}

	for name, err := range map[string]error{
		"revoke unknown":     s.RevokeKey(ctx, "ghost"),
		"status unknown":     s.SetKeyStatus(ctx, "ghost", authz.StatusActive),
		"list unknown app":   func() error { _, err := s.ListKeys(ctx, "ghost"); return err }(),
		"revoke invalid key": s.RevokeKey(ctx, "a b"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.SetKeyStatus(ctx, "app1-key-0123456789", "gone"); err == nil {
		t.Error("SetKeyStatus(gone) succeeded")
	}
}
