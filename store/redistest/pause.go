package redistest

import (
	"syscall"
	"testing"
)

// Pause stops redis-server with SIGSTOP: its port stays open and accepts
// connections, but nothing is answered — a hung Redis, not a dead one.
// Stop and Restart still work on a paused server; so does Resume.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Resume continues a paused redis-server (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("redistest: %v: redis-server on %s is not running", sig, s.Addr())
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("redistest: %v to redis-server on %s: %v", sig, s.Addr(), err)
	}
}
