package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/store/redistest"
)

// blackHole listens where Redis was and accepts connections without ever
// answering: what a client sees when the Redis host or container vanished
// and a new one is not up yet (dials that hang, commands never answered).
type blackHole struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func listenBlackHole(t *testing.T, addr string) *blackHole {
	t.Helper()
	var (
		l   net.Listener
		err error
	)
	// The port was redis-server's a moment ago.
	for range 50 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("black hole on %s: %v", addr, err)
	}
	b := &blackHole{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *blackHole) close() {
	b.l.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

// notReadyReasons are the reasons of authzd's "not ready" log lines, in
// order.
func notReadyReasons(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg    string `json:"msg"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasPrefix(l.Msg, "not ready") {
			out = append(out, l.Reason)
		}
	}
	return out
}

// When Redis dies, health turns NOT_SERVING from the broken invalidation
// subscription, without waiting for a ping. Redis is killed (SIGKILL) and
// its address turned into a black hole, so a ping hangs until a timeout
// (go-redis's connection set-up, or --redis-timeout, here a minute); before
// the fix health waited for it and logged the ping's "i/o timeout". The
// test asserts the reason authzd logs for going NOT_SERVING: the
// subscription, first. The 30 s bounds only guard against a hang; the
// order of the signals is what is checked. Then Redis comes back and
// health follows.
func TestHealthReactsToLostSubscription(t *testing.T) {
	r := redistest.Start(t)
	d := startAuthzd(t, r.URL(), "--redis-timeout", "1m", "--drain-delay", "0")
	before := len(notReadyReasons(t, d.logs.String()))

	r.Stop()
	hole := listenBlackHole(t, r.Addr())
	d.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING, 30*time.Second)
	// The log line is written around the flip; wait for it to arrive.
	var reasons []string
	for deadline := time.Now().Add(30 * time.Second); len(reasons) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		reasons = notReadyReasons(t, d.logs.String())[before:]
	}
	if len(reasons) == 0 || reasons[0] != "subscription" {
		t.Errorf("reasons for NOT_SERVING after the kill: %q, want the subscription first (a ping would hang)", reasons)
	}
	if s := d.httpGet(t, "/readyz"); s != 503 {
		t.Errorf("/readyz = %d with Redis gone, want 503", s)
	}

	hole.close()
	r.Restart(t)
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 30*time.Second)
}
