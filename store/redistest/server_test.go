package redistest

import (
	"context"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET on a fresh server: %v", err)
	}
	if got := s.URL(); got != "redis://"+s.Addr()+"/0" {
		t.Fatalf("URL() = %q", got)
	}

	s.Stop()
	s.Stop() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Stop")
	}

	s.Restart(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("after Restart EXISTS k = %d, %v; want 0 (no persistence)", n, err)
	}
	cfg, err := c.ConfigGet(ctx, "save").Result()
	if err != nil || cfg["save"] != "" {
		t.Fatalf("CONFIG GET save = %v, %v; want empty (no RDB)", cfg, err)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both servers on %s", a.Addr())
	}
	ctx := context.Background()
	if err := a.Client(t).Set(ctx, "only-a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Client(t).Exists(ctx, "only-a").Result(); n != 0 {
		t.Fatal("a key written to one server is visible on the other")
	}
}

func TestMissingRedisServerFailsLoudly(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := New()
	if err == nil {
		t.Fatal("New() succeeded without redis-server on PATH")
	}
	const want = "redis-server not found on PATH: install it (apt-get install redis-server); these tests need a real Redis"
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}
