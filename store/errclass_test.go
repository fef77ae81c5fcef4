package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store/redistest"
)

// Real failures of a real Redis, classified as the decision log and
// appauthz_store_unavailable_total name them.
func TestDescribeError(t *testing.T) {
	ctx := context.Background()
	_, keyA := NewRandomKeyring()
	_, keyB := NewRandomKeyring()

	tests := map[string]struct {
		err        func(t *testing.T) error
		want       authz.StoreCause
		wantDetail string // a substring; "" means the detail must be empty
	}{
		"secret sealed under another master key": {func(t *testing.T) error {
			_, rdb, _ := newTestStore(t)
			a := mustCreateApp(t, New(rdb, WithKeyring(mustKeyring(t, keyA))), "a")
			_, err := New(rdb, WithKeyring(mustKeyring(t, keyB))).Lookup(ctx, authz.LookupQuery{AppKeys: []string{a.AppKey}})
			return err
		}, authz.CauseDecrypt, "master key"},
		"sealed secret, no master key": {func(t *testing.T) error {
			_, rdb, _ := newTestStore(t)
			a := mustCreateApp(t, New(rdb, WithKeyring(mustKeyring(t, keyA))), "a")
			_, err := New(rdb).Lookup(ctx, authz.LookupQuery{AppKeys: []string{a.AppKey}})
			return err
		}, authz.CauseDecrypt, "master key"},
		"redis stopped": {func(t *testing.T) error {
			// No retries: with go-redis's dial retries and their backoff
			// a short budget can end first, and then the error is the
			// context's (timeout) until the pool's dial breaker opens and
			// returns the dial error at once.
			srv := redistest.Start(t)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1})
			t.Cleanup(func() { rdb.Close() })
			quietRedisLog(t)
			srv.Stop()
			_, err := New(rdb, WithTimeout(5*time.Second)).Lookup(ctx, authz.LookupQuery{AppKeys: []string{"k"}})
			return err
		}, authz.CauseConnection, "connection refused"},
		"redis hung": {func(t *testing.T) error {
			_, rdb, srv := newTestStore(t)
			s := New(rdb, WithTimeout(100*time.Millisecond))
			if err := s.Ping(ctx); err != nil { // connect before the hang
				t.Fatal(err)
			}
			srv.Pause(t)
			defer srv.Resume(t)
			_, err := s.Lookup(ctx, authz.LookupQuery{AppKeys: []string{"k"}})
			return err
		}, authz.CauseTimeout, ""},
		"redis error reply": {func(t *testing.T) error {
			_, rdb, _ := newTestStore(t)
			return rdb.Do(ctx, "NOSUCHCOMMAND").Err()
		}, authz.CauseProtocol, "unknown command"},
		"caller gave up": {func(t *testing.T) error {
			s, _, _ := newTestStore(t)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.Lookup(cctx, authz.LookupQuery{AppKeys: []string{"k"}})
			return err
		}, authz.CauseCanceled, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.err(t)
			if err == nil {
				t.Fatal("no error")
			}
			got := DescribeError(err)
			if got.Cause != tc.want {
				t.Errorf("DescribeError(%q).Cause = %q; want %q", err, got.Cause, tc.want)
			}
			if !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("detail = %q; want it to hold %q", got.Detail, tc.wantDetail)
			}
			// Never the app key (a credential for X-App-Key callers).
			if strings.Contains(got.Detail, "a-key") {
				t.Errorf("detail %q names the app key", got.Detail)
			}
		})
	}
}

// A secret that does not open still says why to authzctl: the marker
// changes the class, not the message.
func TestOpenErrorKeepsItsMessage(t *testing.T) {
	_, rdb, _ := newTestStore(t)
	_, keyA := NewRandomKeyring()
	_, keyB := NewRandomKeyring()
	a := mustCreateApp(t, New(rdb, WithKeyring(mustKeyring(t, keyA))), "a")
	_, err := New(rdb, WithKeyring(mustKeyring(t, keyB))).Lookup(context.Background(), authz.LookupQuery{AppKeys: []string{a.AppKey}})
	if err == nil || !strings.Contains(err.Error(), "--old-master-key-file") {
		t.Fatalf("err = %v; want the keyring's advice", err)
	}
}

// The per-call bound never extends the caller's deadline (a Check's one
// budget): it ends a little before it, so the caller can still act on the
// failure; and it still bounds a call whose caller set none.
func TestBoundKeepsTheCallersDeadline(t *testing.T) {
	s := New(nil, WithTimeout(time.Hour))
	parent, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, _ := parent.Deadline()
	ctx, done := s.bound(parent)
	defer done()
	if got, ok := ctx.Deadline(); !ok || !got.Before(want) || got.Before(want.Add(-boundReserve)) {
		t.Errorf("bound(ctx with a 1m deadline) deadline = %v; want in [%v, %v)", got, want.Add(-boundReserve), want)
	}
	s = New(nil, WithTimeout(time.Second))
	ctx, done2 := s.bound(context.Background())
	defer done2()
	if got, ok := ctx.Deadline(); !ok || time.Until(got) > time.Second {
		t.Errorf("bound(no deadline) deadline = %v, %v; want within the 1s store timeout", got, ok)
	}
	expired, cancel3 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel3()
	ctx, done3 := s.bound(expired)
	defer done3()
	if ctx.Err() == nil {
		t.Error("bound(an expired ctx) is not done")
	}
}
