package store

import (
	"context"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
)

// With Redis gone every call returns an error (the core maps it to
// StoreUnavailable) and none panics; after Redis comes back, calls work.
func TestRedisDown(t *testing.T) {
	s, _, srv := newTestStore(t)
	ctx := context.Background()
	mustCreateApp(t, s, "app1")
	quietRedisLog(t) // the pool logs each failed dial; the errors are asserted below
	srv.Stop()

	calls := map[string]func() error{
		"ping": func() error { return s.Ping(ctx) },
		"lookup": func() error {
			_, err := s.Lookup(ctx, authz.LookupQuery{APIID: "a", AppKeys: []string{"k"}})
			return err
		},
		"principal": func() error {
			_, err := s.Principal(ctx, authz.PrincipalQuery{AppIDs: []string{"app1"}, GrantAPI: "a"})
			return err
		},
		"admit": func() error {
			_, err := s.Admit(ctx, authz.AdmitQuery{AppID: "app1", Nonce: "n", NonceTTL: time.Second})
			return err
		},
		"create app": func() error { _, err := s.CreateApp(ctx, CreateAppParams{Name: "n"}); return err },
		"list apps":  func() error { _, err := s.ListApps(ctx); return err },
		"delete app": func() error { return s.DeleteApp(ctx, "app1") },
		"create api": func() error {
			return s.CreateAPI(ctx, authz.API{ID: "a", Methods: []authz.Method{authz.MethodKey}})
		},
		"add grant": func() error { return s.AddGrant(ctx, GrantInfo{API: "a", AppID: "app1"}) },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s succeeded with Redis down", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("%s: error %q does not say it is the store's", name, err)
		}
	}

	srv.Restart(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	if _, err := s.CreateApp(ctx, CreateAppParams{Name: "back"}); err != nil {
		t.Fatalf("create after restart: %v", err)
	}
}

// The store timeout bounds a call even when the caller's context has none.
func TestTimeoutBoundsCalls(t *testing.T) {
	_, rdb, _ := newTestStore(t)
	s := New(rdb, WithTimeout(time.Nanosecond))
	if _, err := s.Lookup(context.Background(), authz.LookupQuery{APIID: "a"}); err == nil {
		t.Fatal("Lookup succeeded within 1ns")
	}
}

type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}

func quietRedisLog(t *testing.T) {
	redis.SetLogger(discardLog{})
	t.Cleanup(func() { redis.SetLogger(stderrLog{log.New(os.Stderr, "redis: ", log.LstdFlags)}) })
}

type stderrLog struct{ l *log.Logger }

func (s stderrLog) Printf(_ context.Context, format string, v ...any) { s.l.Printf(format, v...) }
