package store

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/store/redistest"
)

var testNow = time.Unix(1_700_000_000, 0).UTC()

// newTestStore returns a Store over a fresh real redis-server.
func newTestStore(t *testing.T) (*Store, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	return New(rdb, WithClock(func() time.Time { return testNow })), rdb, srv
}

// mustCreateApp creates an app with fixed credentials.
func mustCreateApp(t *testing.T, s *Store, id string) CreatedApp {
	t.Helper()
	a, err := s.CreateApp(context.Background(), CreateAppParams{
		ID: id, Name: "App " + id, Key: id + "-key-0123456789", Secret: id + "-secret-1", AppCode: "CODE-" + id + "-0001",
	})
	if err != nil {
		t.Fatalf("CreateApp(%s): %v", id, err)
	}
	return a
}
