package main

import (
	"os"

	"github.com/spf13/pflag"
)

// redisTLSFiles are the PEM files for a rediss:// URL, named as authzd
// names them so one environment serves both binaries.
type redisTLSFiles struct{ ca, cert, key string }

func (f *redisTLSFiles) register(pf *pflag.FlagSet) {
	pf.StringVar(&f.ca, "redis-ca-file", os.Getenv("AUTHZ_REDIS_CA_FILE"), "CA certificates that sign Redis's certificate, for rediss:// (default: the system roots) (env AUTHZ_REDIS_CA_FILE)")
	pf.StringVar(&f.cert, "redis-client-cert", os.Getenv("AUTHZ_REDIS_CLIENT_CERT"), "client certificate for a Redis with tls-auth-clients, with --redis-client-key (env AUTHZ_REDIS_CLIENT_CERT)")
	pf.StringVar(&f.key, "redis-client-key", os.Getenv("AUTHZ_REDIS_CLIENT_KEY"), "private key of --redis-client-cert (env AUTHZ_REDIS_CLIENT_KEY)")
}
