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
		"imported":       {p: CreateKeyParams{AppID: "app1", Key: "k2", Secret: "s3cr3t-value", Scopes: []string{"read", "write", "read"}, ExpiresAt: &exp}},
		"unknown app":    {p: CreateKeyParams{AppID: "ghost"}, is: ErrNotFound, message: "authzctl app list"},
		"key taken":      {p: CreateKeyParams{AppID: "app1", Key: "app1-key"}, is: ErrExists, message: "--key"},
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
			k := res.Keys[got.AppKey]
			if k == nil {
				t.Fatalf("created key %q not found by Lookup", got.AppKey)
			}
			if k.AppID != "app1" || k.Secret != got.AppSecret || k.Status != authz.StatusActive ||
				!slices.Equal(k.Scopes, got.Scopes) && len(k.Scopes)+len(got.Scopes) > 0 || !k.ExpiresAt.Equal(authz.ExpiryOf(tc.p.ExpiresAt)) {
				t.Errorf("Lookup key = %+v, created %+v", k, got)
			}
		})
	}
	res, _ := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"k2"}})
	if got := res.Keys["k2"].Scopes; !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("scopes = %v, want deduplicated [read write]", got)
	}
}

func TestListKeysRevokeStatus(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	exp := testNow.Add(time.Hour)
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "b-key", Scopes: []string{"x"}, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}

	keys, err := s.ListKeys(ctx, "app1")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].AppKey != "app1-key" || keys[1].AppKey != "b-key" {
		t.Fatalf("ListKeys = %+v", keys)
	}
	if keys[0].ExpiresAt != nil || keys[1].ExpiresAt == nil || !keys[1].ExpiresAt.Equal(exp) {
		t.Errorf("expiries = %v, %v; want nil, %v", keys[0].ExpiresAt, keys[1].ExpiresAt, exp)
	}
	if !keys[0].CreatedAt.Equal(testNow) || keys[1].Status != "active" || !slices.Equal(keys[1].Scopes, []string{"x"}) {
		t.Errorf("ListKeys = %+v", keys)
	}

	if err := s.SetKeyStatus(ctx, "b-key", authz.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	res, _ := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"b-key"}})
	if res.Keys["b-key"].Status != authz.StatusDisabled {
		t.Errorf("status after disable = %q", res.Keys["b-key"].Status)
	}

	if err := s.RevokeKey(ctx, "b-key"); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"b-key"}})
	if _, ok := res.Keys["b-key"]; ok {
		t.Error("revoked key still found")
	}
	keys, _ = s.ListKeys(ctx, "app1")
	if len(keys) != 1 {
		t.Errorf("ListKeys after revoke = %+v", keys)
	}
	// A revoked key can be created again.
	if _, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "b-key"}); err != nil {
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
	if err := s.SetKeyStatus(ctx, "app1-key", "gone"); err == nil {
		t.Error("SetKeyStatus(gone) succeeded")
	}
}
