package main

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appauthz/appauthz/internal/authzdproc"
	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// buildAuthzd builds this command into a fresh directory (the build cache
// makes repeats cheap) and returns the binary.
func buildAuthzd(t *testing.T, ldflags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "authzd")
	if err := authzdproc.Build(bin, ".", ldflags...); err != nil {
		t.Fatal(err)
	}
	return bin
}

// daemon is a running authzd whose stderr (the JSON log) is collected.
type daemon struct {
	proc               *authzdproc.Process
	logs               *lockedbuf.Buffer
	grpcAddr, httpAddr string
}

// startDaemon runs bin with args (listeners on loopback port 0 are added)
// and waits until it logs "authzd listening". It fails the test if the
// process exits first; the process is killed at cleanup.
func startDaemon(t *testing.T, bin string, env []string, args ...string) *daemon {
	t.Helper()
	// A guard against a hung child, not a performance expectation.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	args = append([]string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--drain-delay", "0s"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	p, err := authzdproc.Start(cmd, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{proc: p, logs: p.Stderr}
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		if t.Failed() {
			t.Logf("authzd stderr:\n%s", d.logs.String())
		}
	})
	if d.grpcAddr, d.httpAddr, err = p.WaitListening(ctx); err != nil {
		t.Fatalf("authzd did not start listening: %v\n%s", err, d.logs.String())
	}
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.proc.Done()
	if err := d.proc.Err(); err != nil {
		t.Fatalf("authzd exit: %v; want exit status 0", err)
	}
}

// logRecords parses every line of a JSON log; a line that is not a JSON
// object fails the test.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// findLog returns the first JSON log record with message msg, or nil.
func findLog(logs, msg string) map[string]any {
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

// runOnce runs bin to its exit and returns the exit code and stderr.
func runOnce(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %s: %v", bin, err)
	return 0, "", ""
}
