package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// ctlBin is the authzctl binary built once for all tests: they run it as
// an operator would, as a subprocess, against a real redis-server.
var ctlBin string

// masterKeyFile is the master key every run gets (AUTHZ_MASTER_KEY_FILE),
// and testKeyring the same key, for tests that read the store directly.
var (
	masterKeyFile string
	testKeyring   *store.Keyring
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "authzctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctlBin = filepath.Join(dir, "authzctl")
	kr, key := store.NewRandomKeyring()
	testKeyring, masterKeyFile = kr, filepath.Join(dir, "master.key")
	if err := os.WriteFile(masterKeyFile, key, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	build := exec.Command("go", "build", "-o", ctlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building authzctl: %v\n", err)
		return 1
	}
	return m.Run()
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCtl runs authzctl with args and AUTHZ_REDIS_URL unset, so only
// --redis-url decides where it goes.
func runCtl(t *testing.T, args ...string) result {
	t.Helper()
	return runCtlEnv(t, nil, args...)
}

// runCtlEnv is runCtl with extra environment variables.
func runCtlEnv(t *testing.T, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(ctlBin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHZ_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, "AUTHZ_MASTER_KEY_FILE="+masterKeyFile), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running authzctl %v: %v", args, err)
	}
	return r
}

// env is a fresh Redis and a way to run authzctl against it.
type env struct {
	t   *testing.T
	srv *redistest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	return &env{t: t, srv: redistest.Start(t)}
}

// run runs authzctl --redis-url <this Redis> args.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return runCtl(e.t, append([]string{"--redis-url", e.srv.URL()}, args...)...)
}

// json runs authzctl -o json args, requires success with exactly one JSON
// object on stdout and nothing on stderr, and decodes it into v.
func (e *env) json(v any, args ...string) {
	e.t.Helper()
	r := e.run(append([]string{"-o", "json"}, args...)...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("authzctl %s: want success and a silent stderr, got %v", strings.Join(args, " "), r)
	}
	decodeOne(e.t, r.stdout, v)
}

// decodeOne decodes exactly one JSON object from s into v.
func decodeOne(t *testing.T, s string, v any) {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		t.Fatalf("stdout is not a JSON object: %q", s)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value: %q", s)
	}
}

// fail runs authzctl args and requires a failed operation: exit 1, empty
// stdout and exactly one line on stderr, which it returns.
func (e *env) fail(args ...string) string {
	e.t.Helper()
	return wantFail(e.t, e.run(args...))
}

func wantFail(t *testing.T, r result) string {
	t.Helper()
	if r.code != exitFail || r.stdout != "" {
		t.Fatalf("want exit 1 and empty stdout, got %v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "authzctl: ") {
		t.Fatalf("want one stderr line starting \"authzctl: \", got %q", r.stderr)
	}
	return lines[0]
}
