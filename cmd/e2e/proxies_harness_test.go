package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// echoUpstream is the protected service behind a real proxy: it answers
// 200 and remembers the last request it got, as received.
type echoUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last *seenRequest
}

// seenRequest is what the upstream received.
type seenRequest struct {
	Method string
	URI    string      // the request target as sent by the proxy
	Header http.Header // canonical names as Go parses them
}

func startEcho(t *testing.T) *echoUpstream {
	t.Helper()
	e := &echoUpstream{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.last = &seenRequest{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone()}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"upstream": "ok"})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// take returns and forgets the last request (nil: none since the last take).
func (e *echoUpstream) take() *seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.last
	e.last = nil
	return r
}

func (e *echoUpstream) addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// proxyProcess is a real nginx or caddy started with a shipped config.
type proxyProcess struct {
	name string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logs *lockedbuf.Buffer
	done chan struct{}
}

// copyConfig copies the shipped files of dir (relative to the repository)
// into a temporary directory, applying the replacements (old → new) that
// move ports and upstream addresses; a replacement that matches nothing
// fails the test, so a changed config cannot silently escape it.
func copyConfig(t *testing.T, dir string, replace map[string][]string) string {
	t.Helper()
	out := t.TempDir()
	src := filepath.Join("..", "..", filepath.FromSlash(dir))
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, r := range replace[e.Name()] {
			old, nw, _ := strings.Cut(r, "=>")
			if !strings.Contains(s, old) {
				t.Fatalf("%s/%s no longer contains %q: update the test's substitutions", dir, e.Name(), old)
			}
			s = strings.ReplaceAll(s, old, nw)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// startProxy runs the command and waits until addr accepts connections.
func startProxy(t *testing.T, name, addr string, cmd *exec.Cmd) *proxyProcess {
	t.Helper()
	p := &proxyProcess{name: name, base: "http://" + addr, cmd: cmd, logs: &lockedbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (is it installed? .ci/run installs it)", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.logs.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited at start:\n%s", name, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 15s:\n%s", name, addr, p.logs.String())
		}
	}
}

// startNginx runs deploy/nginx with its ports and upstreams moved.
func startNginx(t *testing.T, authzAddr, upstreamAddr string) *proxyProcess {
	t.Helper()
	addr := freeAddr(t)
	dir := copyConfig(t, "deploy/nginx", map[string][]string{"nginx.conf": {
		"listen 8080;=>listen " + addr + ";",
		"server authzd:9002;=>server " + authzAddr + ";",
		"server upstream:8080;=>server " + upstreamAddr + ";",
		// Temporary files and logs in the test's directory, so that the
		// test needs no write access to /var.
		"http {=>http {\n    access_log " + filepath.Join(t.TempDir(), "access.log") + ";\n" +
			"    client_body_temp_path " + t.TempDir() + ";\n    proxy_temp_path " + t.TempDir() + ";\n" +
			"    fastcgi_temp_path " + t.TempDir() + ";\n    uwsgi_temp_path " + t.TempDir() + ";\n    scgi_temp_path " + t.TempDir() + ";\n",
	}})
	conf := filepath.Join(dir, "nginx.conf")
	global := "daemon off; master_process on; pid " + filepath.Join(dir, "nginx.pid") + "; error_log stderr info;"
	if out, err := exec.Command("nginx", "-t", "-p", dir, "-c", conf, "-g", global).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the shipped config: %v\n%s", err, out)
	}
	return startProxy(t, "nginx", addr, exec.Command("nginx", "-p", dir, "-c", conf, "-g", global))
}

// startCaddy runs deploy/caddy/Caddyfile with its ports and upstreams moved.
func startCaddy(t *testing.T, authzAddr, upstreamAddr string) *proxyProcess {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := copyConfig(t, "deploy/caddy", map[string][]string{"Caddyfile": {
		":8080 {=>http://127.0.0.1:" + port + " {",
		"forward_auth authzd:9002 {=>forward_auth " + authzAddr + " {",
		"reverse_proxy upstream:8080=>reverse_proxy " + upstreamAddr,
	}})
	cmd := exec.Command("caddy", "run", "--adapter", "caddyfile", "--config", filepath.Join(dir, "Caddyfile"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	return startProxy(t, "caddy", addr, cmd)
}
