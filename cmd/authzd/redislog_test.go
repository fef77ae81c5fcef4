package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

func TestRedisLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	l := redisLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 5, "connection refused")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %q (%v)", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["component"] != "go-redis" || !strings.Contains(rec["msg"].(string), "failed to dial after 5 attempts: connection refused") {
		t.Errorf("record = %v", rec)
	}
}

// The real binary's stderr stays JSON when go-redis has something to say:
// here, that it cannot dial a Redis that is not running.
func TestProcessRedisLogsAreJSON(t *testing.T) {
	bin := buildAuthzd(t)
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Stop()
	_, key := store.NewRandomKeyring()
	keyFile := t.TempDir() + "/master.key"
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, nil, "--redis-url", url, "--master-key-file", keyFile)
	// Waits for go-redis's first line, bounded by the daemon's guard; no
	// timing is asserted.
	for !strings.Contains(d.logs.String(), `"component":"go-redis"`) {
		select {
		case <-d.proc.Done():
			t.Fatalf("authzd exited: %v", d.proc.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if strings.Contains(d.logs.String(), "redis: ") && !strings.Contains(d.logs.String(), `"component"`) {
			break // the old plain-text line: logRecords below reports it
		}
	}
	d.stop(t)
	logRecords(t, d.logs.String())
}
