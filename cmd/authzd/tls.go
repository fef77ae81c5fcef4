package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/appauthz/appauthz/store"
)

// tlsConfig is transport security between machines (docs/tls.md): TLS or
// mTLS on the gRPC listener, and the files a rediss:// connection needs
// beyond the system roots.
type tlsConfig struct {
	CertFile, KeyFile string // server certificate of the gRPC listener
	ClientCA          string // set: clients must present a certificate it signed (mTLS)

	RedisCAFile                     string
	RedisClientCert, RedisClientKey string
}

func (c *tlsConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.CertFile, "tls-cert", "", "PEM `file` of the gRPC listener's certificate chain; with --tls-key turns on TLS (reloaded when the file changes)")
	fs.StringVar(&c.KeyFile, "tls-key", "", "PEM `file` of the private key of --tls-cert")
	fs.StringVar(&c.ClientCA, "client-ca", "", "PEM `file` of the CA(s) that sign Envoy's client certificates: clients without one are refused (mTLS); needs --tls-cert")
	fs.StringVar(&c.RedisCAFile, "redis-ca-file", "", "PEM `file` of the CA(s) that sign Redis's certificate, for rediss:// URLs (default: the system roots)")
	fs.StringVar(&c.RedisClientCert, "redis-client-cert", "", "PEM `file` of a client certificate for rediss://, for Redis with tls-auth-clients yes")
	fs.StringVar(&c.RedisClientKey, "redis-client-key", "", "PEM `file` of the private key of --redis-client-cert")
}

// enabled reports whether the gRPC listener speaks TLS.
func (c *tlsConfig) enabled() bool { return c.CertFile != "" }

// validate checks the flags go together and the files load now, so a
// typo stops authzd at start-up rather than at the first handshake.
func (c *tlsConfig) validate() []error {
	var problems []error
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		problems = append(problems, errors.New("--tls-cert and --tls-key go together: give both for TLS, or neither for plaintext"))
	case c.ClientCA != "" && c.CertFile == "":
		problems = append(problems, errors.New("--client-ca needs --tls-cert and --tls-key: mTLS is TLS with client certificates"))
	case c.enabled():
		if _, err := loadServerTLS(c.CertFile, c.KeyFile, c.ClientCA); err != nil {
			problems = append(problems, err)
		}
	}
	if (c.RedisClientCert == "") != (c.RedisClientKey == "") {
		problems = append(problems, errors.New("--redis-client-cert and --redis-client-key go together: give both, or neither"))
	}
	return problems
}

// redisOptions are the store.OpenURL options of the rediss:// flags.
func (c *tlsConfig) redisOptions() []store.OpenOption {
	if c.RedisCAFile == "" && c.RedisClientCert == "" {
		return nil
	}
	return []store.OpenOption{store.WithTLSFiles(c.RedisCAFile, c.RedisClientCert, c.RedisClientKey)}
}

func (c *tlsConfig) logValue() slog.Value {
	mode := "plaintext"
	switch {
	case c.ClientCA != "":
		mode = "mtls"
	case c.enabled():
		mode = "tls"
	}
	return slog.GroupValue(
		slog.String("grpc", mode),
		slog.String("cert", c.CertFile),
		slog.String("client_ca", c.ClientCA),
		slog.String("redis_ca_file", c.RedisCAFile),
		slog.String("redis_client_cert", c.RedisClientCert),
	)
}

// grpcOptions returns the server option that puts the gRPC listener on
// TLS, or nothing for plaintext.
func (c *tlsConfig) grpcOptions(log *slog.Logger) ([]grpc.ServerOption, error) {
	if !c.enabled() {
		return nil, nil
	}
	r, err := newCertReloader(c.CertFile, c.KeyFile, c.ClientCA, log)
	if err != nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(r.serverConfig()))}, nil
}

// certReloader serves the certificate (and client CAs) of the files as
// they are now. Each handshake stats the files and reloads them when one
// changed: a stat is microseconds against a handshake's milliseconds of
// crypto, Envoy keeps its connections for minutes (MaxConnectionAge), and
// unlike a polling goroutine there is no interval during which a rotated
// certificate is not yet served and nothing to stop at exit. A file that
// does not load keeps the previous certificate in use.
type certReloader struct {
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

func newCertReloader(certFile, keyFile, caFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, caFile: caFile, log: log}
	stamps, err := r.stat()
	if err != nil {
		return nil, err
	}
	cfg, err := loadServerTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	r.cur.Store(&tlsState{config: cfg, stamps: stamps})
	return r, nil
}

// serverConfig is the tls.Config to serve with: every handshake gets the
// current generation's configuration.
func (r *certReloader) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.current(), nil
		},
	}
}

// current returns the configuration of the files as they are, reloading
// them when their stamps changed.
func (r *certReloader) current() *tls.Config {
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
	cfg, err := loadServerTLS(r.certFile, r.keyFile, r.caFile)
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

func (r *certReloader) stat() ([]os.FileInfo, error) {
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

// loadServerTLS builds the server configuration of the files: TLS 1.2 or
// later, HTTP/2 by ALPN (gRPC needs it), and with caFile, client
// certificates required and verified against it.
func loadServerTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
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
