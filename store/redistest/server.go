package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// startTimeout bounds how long redis-server may take to answer PING. It is
// a guard against a hung start, not a performance expectation.
const startTimeout = 20 * time.Second

// Server is one redis-server process.
type Server struct {
	port int

	mu   sync.Mutex
	dir  string // working directory; nothing is written there (no persistence)
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *lockedbuf.Buffer
}

// Start runs a redis-server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New runs a redis-server without a testing.TB (TestMain, benchmarks); the
// caller must Stop it.
func New() (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server not found on PATH: install it (apt-get install redis-server); these tests need a real Redis")
	}
	// A free port can be taken between our probe and redis-server's bind:
	// try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{port: port}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is "redis://127.0.0.1:PORT/0", as --redis-url takes it.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills redis-server and waits for it to exit. It is idempotent, and
// the server can be started again with Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts redis-server again on the same port with no data, for
// tests of "Redis went away, then came back".
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel
	// has not released it yet.
	for range 5 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: restart on %s: %v", s.Addr(), err)
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return fmt.Errorf("temp dir for redis-server: %w", err)
	}
	s.dir = dir
	out := &lockedbuf.Buffer{Max: 64 << 10}
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	cmd.Stdout, cmd.Stderr = out, out
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.out = cmd, done, out

	if err := waitReady(s.Addr(), done); err != nil {
		s.stopLocked()
		return fmt.Errorf("redis-server on %s: %w; its output:\n%s", s.Addr(), err, out.String())
	}
	return nil
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	os.RemoveAll(s.dir)
	s.cmd, s.done, s.dir = nil, nil, ""
}

// waitReady polls PING until redis-server answers, exits, or startTimeout.
func waitReady(addr string, exited <-chan struct{}) error {
	return waitPing(&redis.Options{Addr: addr}, exited)
}

// waitPing is waitReady with the client options of a server that needs
// more than an address (TLS, an ACL user: tls.go).
func waitPing(opts *redis.Options, exited <-chan struct{}) error {
	opts.MaxRetries, opts.DialTimeout = -1, time.Second
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING (port taken?)")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING within %s: %v", startTimeout, err)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
