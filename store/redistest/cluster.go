package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// Cluster is a real Redis Cluster on loopback: masters, each with its
// replicas, made with `redis-cli --cluster create`. Nodes keep their
// nodes.conf in a directory of their own, so a killed node can be started
// again and rejoin.
type Cluster struct {
	dir   string
	nodes []*node
}

// node is one redis-server of a cluster or sentinel setup.
type node struct {
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedbuf.Buffer
}

// StartCluster runs a cluster of masters with replicas each for t and
// stops it when t ends. Three masters with one replica each is the
// smallest cluster that survives the loss of a master.
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	c, err := NewCluster(masters, replicas)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// NewCluster runs a cluster without a testing.TB (TestMain); the caller
// must Stop it.
func NewCluster(masters, replicas int) (_ *Cluster, err error) {
	if masters < 3 {
		return nil, errors.New("a Redis Cluster needs at least 3 masters")
	}
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found on PATH: install redis-server (it brings redis-cli); these tests need a real Redis Cluster", bin)
		}
	}
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	n := masters * (1 + replicas)
	for i := range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		nd := &node{port: port, dir: filepath.Join(dir, strconv.Itoa(port)), args: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			// Short, so a failover takes seconds in tests.
			"--cluster-node-timeout", "1000",
			"--cluster-replica-validity-factor", "0",
		}}
		if err := os.Mkdir(nd.dir, 0o700); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		if err := nd.start(); err != nil {
			return nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(startTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

// Addrs are the addresses of every node.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr()
	}
	return out
}

// URL is the --redis-url of the cluster: every node as a seed.
func (c *Cluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs(), ",") }

// Client returns a cluster client, closed when t ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// WaitHealthy waits until every running node reports cluster_state:ok and
// agrees on which nodes hold the slots.
func (c *Cluster) WaitHealthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for {
		ok := true
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			info, err := n.do("CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				ok, last = false, fmt.Sprintf("node %s: %v %s", n.addr(), err, firstLine(info, "cluster_state"))
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not healthy within %s: %s", within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// KillMasterOf kills the master that holds key's slot, as a crash would
// (SIGKILL), and returns its address. Its replica takes over once the
// other masters agree it is gone (about the node timeout, 1 s).
func (c *Cluster) KillMasterOf(t testing.TB, key string) string {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer cc.Close()
	m, err := cc.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatalf("redistest: master of %q: %v", key, err)
	}
	addr := m.Options().Addr
	for _, n := range c.nodes {
		if n.addr() == addr {
			n.kill()
			return addr
		}
	}
	t.Fatalf("redistest: master %s of %q is not a node of this cluster", addr, key)
	return ""
}

// Restart starts a killed node again with its nodes.conf: it rejoins the
// cluster (as a replica of the master that replaced it).
func (c *Cluster) Restart(t testing.TB, addr string) {
	t.Helper()
	for _, n := range c.nodes {
		if n.addr() == addr {
			if err := n.start(); err != nil {
				t.Fatalf("redistest: restart %s: %v", addr, err)
			}
			return
		}
	}
	t.Fatalf("redistest: no node %s", addr)
}

// Stop kills every node and removes their directories.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.kill()
	}
	os.RemoveAll(c.dir)
}

func (n *node) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

func (n *node) start() error {
	return n.startWith(append(append(baseArgs(n), "--save", "", "--appendonly", "no"), n.args...))
}

// startWith starts redis-server with args and waits for its PING.
func (n *node) startWith(args []string) error {
	return n.launch(args, func(done chan struct{}) error { return waitReady(n.addr(), done) })
}

// launch starts redis-server with args and waits until ready says it
// answers (or it exits); on failure the output is in the error.
func (n *node) launch(args []string, ready func(done chan struct{}) error) error {
	n.kill()
	out := &lockedbuf.Buffer{Max: 64 << 10}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = out, out
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.cmd, n.done, n.out = cmd, done, out
	if err := ready(done); err != nil {
		n.kill()
		return fmt.Errorf("redis-server on %s: %w; its output:\n%s", n.addr(), err, out.String())
	}
	return nil
}

func (n *node) running() bool { return n.cmd != nil }

func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.done
	n.cmd, n.done = nil, nil
}

// do runs one command on this node alone.
func (n *node) do(args ...any) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Do(ctx, args...).Text()
}

func firstLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
