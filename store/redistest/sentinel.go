package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is one redis-server in sentinel mode watching a master.
type Sentinel struct {
	node   *node
	dir    string
	master string // the name it monitors
}

// SentinelMaster is the master name StartSentinel monitors.
const SentinelMaster = "appauthz"

// StartSentinel runs a sentinel (redis-server --sentinel) monitoring
// master under SentinelMaster, and stops it when t ends.
func StartSentinel(t testing.TB, master *Server) *Sentinel {
	t.Helper()
	s, err := newSentinel(master.Addr())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func newSentinel(masterAddr string) (*Sentinel, error) {
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-sentinel-")
	if err != nil {
		return nil, err
	}
	p, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Sentinel rewrites its configuration file, so it must be one.
	conf := filepath.Join(dir, "sentinel.conf")
	body := strings.Join([]string{
		"sentinel monitor " + SentinelMaster + " " + host + " " + port + " 1",
		"sentinel down-after-milliseconds " + SentinelMaster + " 1000",
		"sentinel failover-timeout " + SentinelMaster + " 5000",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Sentinel{dir: dir, master: SentinelMaster, node: &node{port: p, dir: dir}}
	s.node.args = nil
	if err := s.startSentinel(conf); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// startSentinel starts redis-server with the config file first, as
// sentinel mode requires, then waits until it knows the master.
func (s *Sentinel) startSentinel(conf string) error {
	n := s.node
	n.args = nil
	if err := n.startWith(append([]string{conf, "--sentinel"}, baseArgs(n)...)); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if s.knowsMaster() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentinel on %s does not know master %s", n.addr(), s.master)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Sentinel) knowsMaster() bool {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.node.addr(), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addr, err := c.GetMasterAddrByName(ctx, s.master).Result()
	return err == nil && len(addr) == 2
}

// Addr is the sentinel's address.
func (s *Sentinel) Addr() string { return s.node.addr() }

// URL is the --redis-url that reaches the master through this sentinel.
func (s *Sentinel) URL() string { return "redis-sentinel://" + s.Addr() + "/" + s.master }

// Stop kills the sentinel.
func (s *Sentinel) Stop() {
	s.node.kill()
	os.RemoveAll(s.dir)
}

func baseArgs(n *node) []string {
	return []string{"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1", "--dir", n.dir, "--daemonize", "no", "--loglevel", "warning"}
}
