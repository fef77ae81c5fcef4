package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// OpenOption configures OpenURL beyond what the URL can say.
type OpenOption func(*openOptions)

type openOptions struct {
	caFile, certFile, keyFile string
}

// WithTLSFiles sets the PEM files of a TLS URL (rediss://, rediss-sentinel://,
// rediss-cluster://): caFile the CA(s) that sign Redis's certificate, in
// place of the system roots; certFile and keyFile a client certificate, for
// Redis configured with tls-auth-clients yes. Empty names are left out. The
// files are read once, by OpenURL.
func WithTLSFiles(caFile, certFile, keyFile string) OpenOption {
	return func(o *openOptions) { o.caFile, o.certFile, o.keyFile = caFile, certFile, keyFile }
}

func (o openOptions) any() bool { return o.caFile != "" || o.certFile != "" || o.keyFile != "" }

// applyTLS adds the files to cfg, the TLS configuration the URL built (nil
// when the URL does not use TLS).
func (o openOptions) applyTLS(cfg *tls.Config) error {
	if !o.any() {
		return nil
	}
	if cfg == nil {
		return errors.New("a TLS CA or client certificate file is given, but the redis URL does not use TLS: use rediss:// (or rediss-sentinel://, rediss-cluster://)")
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return fmt.Errorf("redis TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("redis TLS CA file %s holds no PEM certificate: give the CA that signed Redis's certificate", o.caFile)
		}
		cfg.RootCAs = pool
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return errors.New("a redis TLS client certificate needs both its certificate and its key file")
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return fmt.Errorf("redis TLS client certificate %s / key %s: %w: give a PEM certificate and its PEM private key", o.certFile, o.keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return nil
}
