package redistest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/internal/testpki"
)

// TLSOptions configures StartTLS.
type TLSOptions struct {
	// AuthClients is redis-server's tls-auth-clients: "no" (the default
	// here), "optional" or "yes" (clients must present a certificate the
	// CA signed).
	AuthClients string
	// User and Password, when User is set, create an ACL user with the
	// rules ACL (default "~* &* +@all") and turn the default user off, so
	// every connection must authenticate as it.
	User, Password, ACL string
}

// TLSServer is a redis-server that accepts only TLS connections (--port 0),
// with a certificate issued by a CA made for it.
type TLSServer struct {
	// CA signed the server's certificate (SANs 127.0.0.1 and localhost);
	// the server also verifies client certificates against it.
	CA *testpki.CA
	// CAFile is CA's certificate as a PEM file, for --redis-ca-file.
	CAFile string

	opts  TLSOptions
	dir   string
	port  int
	admin tls.Certificate // the client certificate redistest itself uses
	node  *node
}

// StartTLS runs a TLS-only redis-server for t and stops it when t ends.
func StartTLS(t testing.TB, o TLSOptions) *TLSServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redistest: redis-server not found on PATH: install it (apt-get install redis-server); these tests need a real Redis")
	}
	if o.AuthClients == "" {
		o.AuthClients = "no"
	}
	if o.User != "" && o.ACL == "" {
		o.ACL = "~* &* +@all"
	}
	dir := t.TempDir()
	s := &TLSServer{CA: testpki.NewCA(t, "redistest CA"), opts: o, dir: dir}
	s.CAFile = s.CA.Write(t, dir, "ca")
	certFile, keyFile := s.CA.Server(t, "127.0.0.1", "localhost").Write(t, dir, "server")
	s.admin = s.CA.Client(t, "redistest").TLS(t)

	// redis-server takes ACL users only from a configuration file (the
	// command line splits a rule at its spaces).
	conf := filepath.Join(dir, "redis.conf")
	var body strings.Builder
	if o.User != "" {
		fmt.Fprintf(&body, "user default off\nuser %s on >%s %s\n", o.User, o.Password, o.ACL)
	}
	if err := os.WriteFile(conf, []byte(body.String()), 0o600); err != nil {
		t.Fatalf("redistest: %v", err)
	}

	var lastErr error
	for range 5 { // a free port can be taken before redis-server binds it
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = port
		s.node = &node{port: port, dir: dir}
		args := []string{conf,
			"--port", "0",
			"--tls-port", strconv.Itoa(port),
			"--tls-cert-file", certFile,
			"--tls-key-file", keyFile,
			"--tls-ca-cert-file", s.CAFile,
			"--tls-auth-clients", o.AuthClients,
			"--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no", "--loglevel", "warning",
		}
		if lastErr = s.start(args); lastErr == nil {
			t.Cleanup(s.node.kill)
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func (s *TLSServer) start(args []string) error {
	return s.node.launch(args, func(done chan struct{}) error { return waitPing(s.options(), done) })
}

// Addr is "127.0.0.1:PORT", the TLS port.
func (s *TLSServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the --redis-url of the server: rediss://, with the ACL user.
func (s *TLSServer) URL() string { return s.URLAs(s.opts.User, s.opts.Password) }

// URLAs is URL with another user and password (wrong-password tests).
func (s *TLSServer) URLAs(user, password string) string {
	u := url.URL{Scheme: "rediss", Host: s.Addr(), Path: "/0"}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// ClientCert issues a client certificate from CA, as Redis with
// tls-auth-clients yes requires, and returns its files.
func (s *TLSServer) ClientCert(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	return s.CA.Client(t, name).Write(t, s.dir, name)
}

// Client returns a client of the server (trusting CA, presenting a client
// certificate, as the ACL user), closed when t ends.
func (s *TLSServer) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(s.options())
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills redis-server.
func (s *TLSServer) Stop() { s.node.kill() }

func (s *TLSServer) options() *redis.Options {
	return &redis.Options{
		Addr:     s.Addr(),
		Username: s.opts.User,
		Password: s.opts.Password,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			RootCAs:      s.CA.Pool(),
			ServerName:   "127.0.0.1",
			Certificates: []tls.Certificate{s.admin},
		},
	}
}
