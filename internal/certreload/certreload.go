// Package certreload serves a TLS server certificate, and optionally the
// CAs its clients' certificates must chain to, from files that are
// replaced while the server runs (cert-manager, a Kubernetes Secret
// volume): new handshakes get the files as they are now, without a
// restart. Errors name the files by authzd's flags (--tls-cert, --tls-key,
// --client-ca), the only place they come from.
package certreload

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// Reloader serves the certificate (and client CAs) of the files as
// they are now. Each handshake stats the files and reloads them when one
// changed: a stat is microseconds against a handshake's milliseconds of
// crypto, Envoy keeps its connections for minutes (MaxConnectionAge), and
// unlike a polling goroutine there is no interval during which a rotated
// certificate is not yet served and nothing to stop at exit. A file that
// does not load keeps the previous certificate in use.
type Reloader struct {
	certFile, keyFile, caFile string
	log                       *slog.Logger

	cur        atomic.Pointer[tlsState]
	mu         sync.Mutex    // one reload at a time
	failed     []os.FileInfo // stamps of the last failed reload, logged once
	statFailed bool          // a file is missing; logged once
}

// tlsState is one loaded generation of the files.
type tlsState struct {
	config *tls.Config
	stamps []os.FileInfo
}

// New loads the files (caFile may be empty: no client certificates) and
// returns a Reloader serving them; log gets the reloads and their failures.
func New(certFile, keyFile, caFile string, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, caFile: caFile, log: log}
	stamps, err := r.stat()
	if err != nil {
		return nil, err
	}
	cfg, err := Load(certFile, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	r.cur.Store(&tlsState{config: cfg, stamps: stamps})
	return r, nil
}

// ServerConfig is the tls.Config to serve with: every handshake gets the
// current generation's configuration.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current(), nil
		},
	}
}

// current returns the configuration of the files as they are, reloading
// them when their stamps changed.
func (r *Reloader) current() *tls.Config {
	st := r.cur.Load()
	stamps, err := r.stat()
	if err == nil && sameStamps(stamps, st.stamps) {
		return st.config
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Usually mid-rotation; if it lasts, the operator must know.
		if !r.statFailed {
			r.statFailed = true
			r.log.Error("TLS certificate file missing: still serving the previous certificate; put the files back", slog.String("error", err.Error()))
		}
		return st.config
	}
	r.statFailed = false
	if st = r.cur.Load(); sameStamps(stamps, st.stamps) {
		return st.config // another handshake reloaded them meanwhile
	}
	cfg, err := Load(r.certFile, r.keyFile, r.caFile)
	if err != nil {
		if !sameStamps(stamps, r.failed) {
			r.failed = stamps
			r.log.Error("TLS certificate reload failed: still serving the previous certificate; fix the files (PEM, the key matching the certificate) and new handshakes pick them up",
				slog.String("error", err.Error()))
		}
		return st.config
	}
	r.cur.Store(&tlsState{config: cfg, stamps: stamps})
	r.failed = nil
	leaf := cfg.Certificates[0].Leaf
	r.log.Info("TLS certificate reloaded",
		slog.String("subject", leaf.Subject.String()),
		slog.String("serial", leaf.SerialNumber.Text(16)),
		slog.Time("not_after", leaf.NotAfter))
	return cfg
}

func (r *Reloader) stat() ([]os.FileInfo, error) {
	var stamps []os.FileInfo
	for _, f := range []string{r.certFile, r.keyFile, r.caFile} {
		if f == "" {
			continue
		}
		fi, err := os.Stat(f) // follows symlinks: Kubernetes swaps a ..data link
		if err != nil {
			return nil, err
		}
		stamps = append(stamps, fi)
	}
	return stamps, nil
}

// sameStamps reports whether no file changed: same file (inode), size and
// modification time.
func sameStamps(a, b []os.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()) {
			return false
		}
	}
	return true
}

// Load builds the server configuration of the files: TLS 1.2 or
// later, HTTP/2 by ALPN (gRPC needs it), and with caFile, client
// certificates required and verified against it.
func Load(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w: give a PEM certificate (chain) and its PEM private key", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2"},
	}
	if caFile != "" {
		pool, err := loadCAPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

func loadCAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate: give the CA certificate(s), each in a -----BEGIN CERTIFICATE----- block", file)
	}
	return pool, nil
}
