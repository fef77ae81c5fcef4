package store

import (
	"context"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// Every write publishes what changed on appauthz:invalidate, so caches can
// drop it. Each step names the messages it must produce (a subset: a write
// may name more).
func TestEveryWritePublishes(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	sub := rdb.Subscribe(ctx, "appauthz:invalidate")
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	msgs := sub.Channel()

	code := "APPCODE-FOR-TEST-1"
	h := authz.HashAppCode(code)
	var newCode string
	steps := []struct {
		name  string
		write func() error
		want  []string
	}{
		{"create app", func() error {
			_, err := s.CreateApp(ctx, CreateAppParams{ID: "app1", Name: "n", Key: "k1-0123456789abcd", AppCode: code})
			return err
		}, []string{"app:app1", "key:" + authz.HashAppKey("k1-0123456789abcd"), "appcode:" + h}},
		{"disable app", func() error { return s.SetAppStatus(ctx, "app1", authz.StatusDisabled) }, []string{"app:app1", "appcode:" + h}},
		{"create key", func() error {
			_, err := s.CreateKey(ctx, CreateKeyParams{AppID: "app1", Key: "k2-0123456789abcd"})
			return err
		}, []string{"key:" + authz.HashAppKey("k2-0123456789abcd")}},
		{"disable key", func() error { return s.SetKeyStatus(ctx, "k2-0123456789abcd", authz.StatusDisabled) }, []string{"key:" + authz.HashAppKey("k2-0123456789abcd")}},
		{"revoke key", func() error { return s.RevokeKey(ctx, "k2-0123456789abcd") }, []string{"key:" + authz.HashAppKey("k2-0123456789abcd")}},
		{"reset appcode", func() error {
			var err error
			newCode, err = s.ResetAppCode(ctx, "app1", "APPCODE-FOR-TEST-2")
			return err
		}, []string{"appcode:" + h, "appcode:" + authz.HashAppCode("APPCODE-FOR-TEST-2"), "app:app1"}},
		{"create api", func() error {
			return s.CreateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodKey}, Route: authz.Route{PathPrefix: "/o"}})
		}, []string{"api:orders", "routes"}},
		{"update api", func() error {
			return s.UpdateAPI(ctx, authz.API{ID: "orders", Methods: []authz.Method{authz.MethodAppCode}})
		}, []string{"api:orders", "routes"}},
		{"add grant", func() error { return s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1"}) }, []string{"grant:orders:RELEASE"}},
		{"revoke grant", func() error { return s.RevokeGrant(ctx, "orders", "app1", "") }, []string{"grant:orders:RELEASE"}},
		{"grant again", func() error { return s.AddGrant(ctx, GrantInfo{API: "orders", AppID: "app1", Stage: "TEST"}) }, []string{"grant:orders:TEST"}},
		{"delete api", func() error { return s.DeleteAPI(ctx, "orders") }, []string{"api:orders", "grant:orders:TEST"}},
		{"delete app", func() error { return s.DeleteApp(ctx, "app1") }, []string{"app:app1", "key:" + authz.HashAppKey("k1-0123456789abcd"), "appcode:" + authz.HashAppCode("APPCODE-FOR-TEST-2")}},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// A sentinel published after the write marks the end of its messages.
		if err := rdb.Publish(ctx, "appauthz:invalidate", "end:"+st.name).Err(); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for done := false; !done; {
			select {
			case m := <-msgs:
				if m.Payload == "end:"+st.name {
					done = true
				}
				got[m.Payload] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no end marker on the channel; got %v", st.name, got)
			}
		}
		for _, w := range st.want {
			if !got[w] {
				t.Errorf("%s: no %q published; got %v", st.name, w, got)
			}
		}
	}
	if newCode == "" {
		t.Fatal("reset appcode returned no code")
	}
}
