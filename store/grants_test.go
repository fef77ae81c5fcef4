package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

func TestGrants(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	mustCreateApp(t, s, "app2")
	if err := s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}}); err != nil {
		t.Fatal(err)
	}
	exp := testNow.Add(48 * time.Hour)
	for _, g := range []GrantInfo{
		{API: "orders", AppID: "app2"},
		{API: "orders", AppID: "app1", Stage: "TEST", ExpiresAt: &exp},
		{API: "orders", AppID: "app1"},
	} {
		if err := s.AddGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListGrants(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range list {
		e := "-"
		if g.ExpiresAt != nil {
			e = g.ExpiresAt.Format(time.RFC3339)
		}
		got = append(got, g.API+"/"+g.Stage+"/"+g.AppID+"/"+e)
	}
	want := "orders/RELEASE/app1/-,orders/RELEASE/app2/-,orders/TEST/app1/" + exp.Format(time.RFC3339)
	if strings.Join(got, ",") != want {
		t.Fatalf("ListGrants = %v, want %s", got, want)
	}

	// Principal reads the grant the decision needs.
	res, err := s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: "TEST"})
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Grants["app1"]; g == nil || !g.ExpiresAt.Equal(authz.ExpiryAt(exp)) {
		t.Fatalf("Principal grant = %+v, want expiry %v", g, exp)
	}

	if err := s.RevokeGrant(ctx, "orders", "app1", "TEST"); err != nil {
		t.Fatal(err)
	}
	res, _ = s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "orders", Stage: "TEST"})
	if _, ok := res.Grants["app1"]; ok {
		t.Error("revoked grant still read by Principal")
	}
	if err := s.RevokeGrant(ctx, "orders", "app1", "TEST"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke = %v, want ErrNotFound", err)
	}

	for name, err := range map[string]error{
		"add unknown api":  s.AddGrant(ctx, GrantInfo{API: "ghost", AppID: "app1"}),
		"add unknown app":  s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "ghost"}),
		"list unknown api": func() error { _, err := s.ListGrants(ctx, "ghost"); return err }(),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: "bad stage"}); err == nil || !strings.Contains(err.Error(), "invalid stage") {
		t.Errorf("bad stage: %v", err)
	}
}
