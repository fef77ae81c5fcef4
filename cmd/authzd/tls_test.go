package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/internal/testpki"
)

func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "ca")
	caFile := ca.Write(t, dir, "ca")
	cert, key := ca.Server(t, "127.0.0.1").Write(t, dir, "server")
	_, otherKey := ca.Server(t, "127.0.0.1").Write(t, dir, "other")
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string // "" = valid
	}{
		"plaintext":          {nil, nil, ""},
		"tls":                {[]string{"--tls-cert", cert, "--tls-key", key}, nil, ""},
		"mtls":               {[]string{"--tls-cert", cert, "--tls-key", key, "--client-ca", caFile}, nil, ""},
		"mtls from env":      {nil, map[string]string{"AUTHZ_TLS_CERT": cert, "AUTHZ_TLS_KEY": key, "AUTHZ_CLIENT_CA": caFile}, ""},
		"cert without key":   {[]string{"--tls-cert", cert}, nil, "go together"},
		"key without cert":   {[]string{"--tls-key", key}, nil, "go together"},
		"client-ca alone":    {[]string{"--client-ca", caFile}, nil, "--client-ca needs --tls-cert"},
		"key of another":     {[]string{"--tls-cert", cert, "--tls-key", otherKey}, nil, "does not match"},
		"missing cert":       {[]string{"--tls-cert", filepath.Join(dir, "nope"), "--tls-key", key}, nil, "no such file"},
		"client-ca not PEM":  {[]string{"--tls-cert", cert, "--tls-key", key, "--client-ca", key}, nil, "no PEM certificate"},
		"redis ca":           {[]string{"--redis-url", "rediss://r:6380/0", "--redis-ca-file", caFile}, nil, ""},
		"redis ca, redis://": {[]string{"--redis-ca-file", caFile}, nil, "use rediss://"},
		"redis cert alone":   {[]string{"--redis-url", "rediss://r:6380/0", "--redis-client-cert", cert}, nil, "--redis-client-cert and --redis-client-key go together"},
		"redis client pair":  {[]string{"--redis-url", "rediss://r:6380/0", "--redis-client-cert", cert, "--redis-client-key", key}, map[string]string{"AUTHZ_REDIS_CA_FILE": caFile}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("invalid: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("valid, want an error saying %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
