package main

import (
	"errors"
	"flag"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/appauthz/appauthz/internal/certreload"
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
		if _, err := certreload.Load(c.CertFile, c.KeyFile, c.ClientCA); err != nil {
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
	r, err := certreload.New(c.CertFile, c.KeyFile, c.ClientCA, log)
	if err != nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(r.ServerConfig()))}, nil
}
