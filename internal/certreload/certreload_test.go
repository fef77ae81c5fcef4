package certreload

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/internal/lockedbuf"
	"github.com/appauthz/appauthz/internal/testpki"
)

// tlsServer serves handshakes with cfg on a loopback port. Each accepted
// connection that completes its handshake is answered with "ok".
func tlsServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return l.Addr().String()
}

// dial completes a handshake and the server's "ok" (a refused client
// certificate shows only there under TLS 1.3) and returns the server's
// certificate.
func dial(addr string, cfg *tls.Config) (*x509.Certificate, error) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang guard only
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := testpki.NewCA(t, "ca1"), testpki.NewCA(t, "ca2")
	first := ca1.Server(t, "127.0.0.1")
	certFile, keyFile := first.Write(t, dir, "server")
	logs := &lockedbuf.Buffer{} // read while handshakes log
	r, err := New(certFile, keyFile, "", slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsServer(t, r.ServerConfig())
	roots := x509.NewCertPool()
	roots.AddCert(ca1.Cert)
	roots.AddCert(ca2.Cert)
	client := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	serves := func(want *x509.Certificate) {
		t.Helper()
		got, err := dial(addr, client)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if !got.Equal(want) {
			t.Fatalf("server presents serial %x of %s, want %x of %s", got.SerialNumber, got.Issuer.CommonName, want.SerialNumber, want.Issuer.CommonName)
		}
	}
	serves(first.Cert)

	second := ca2.Server(t, "127.0.0.1")
	second.Write(t, dir, "server")
	serves(second.Cert)
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged: %s", logs.String())
	}

	// A key that does not match: the previous certificate stays, and the
	// failure is logged once, not on every handshake.
	third := ca1.Server(t, "127.0.0.1")
	third.Write(t, dir, "server")
	if err := os.WriteFile(keyFile, first.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	serves(second.Cert)
	serves(second.Cert)
	if n := strings.Count(logs.String(), "TLS certificate reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times, want once: %s", n, logs.String())
	}
	// A missing file keeps the certificate too.
	if err := os.Rename(keyFile, keyFile+".away"); err != nil {
		t.Fatal(err)
	}
	serves(second.Cert)
	if !strings.Contains(logs.String(), "TLS certificate file missing") {
		t.Errorf("missing file not logged: %s", logs.String())
	}
	// Fixed: the new pair is served.
	third.Write(t, dir, "server")
	serves(third.Cert)
}

func TestClientCAReload(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := testpki.NewCA(t, "ca1"), testpki.NewCA(t, "ca2")
	certFile, keyFile := ca1.Server(t, "127.0.0.1").Write(t, dir, "server")
	caFile := ca1.Write(t, dir, "clients")
	r, err := New(certFile, keyFile, caFile, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsServer(t, r.ServerConfig())
	client := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: ca1.Pool(), ServerName: "127.0.0.1", Certificates: certs}
	}
	fromCA1, fromCA2 := ca1.Client(t, "envoy").TLS(t), ca2.Client(t, "envoy").TLS(t)
	for _, maxVersion := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for name, tc := range map[string]struct {
			cfg *tls.Config
			ok  bool
		}{
			"trusted client cert":   {client(fromCA1), true},
			"no client cert":        {client(), false},
			"cert of another CA":    {client(fromCA2), false},
			"server cert as client": {client(ca1.Server(t, "x").TLS(t)), false},
		} {
			tc.cfg.MaxVersion = maxVersion
			_, err := dial(addr, tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("max version %x, %s: error %v, want success %v", maxVersion, name, err, tc.ok)
			}
		}
	}
	if _, err := dial(addr, &tls.Config{RootCAs: ca1.Pool(), ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS11, Certificates: []tls.Certificate{fromCA1}}); err == nil {
		t.Error("TLS 1.1 handshake succeeded; the minimum is 1.2")
	}

	// Rotating the client CA file: ca2's clients get in, ca1's no longer.
	ca2.Write(t, dir, "clients")
	if _, err := dial(addr, client(fromCA2)); err != nil {
		t.Errorf("client of the new CA refused: %v", err)
	}
	if _, err := dial(addr, client(fromCA1)); err == nil {
		t.Error("client of the replaced CA still accepted")
	}
}
