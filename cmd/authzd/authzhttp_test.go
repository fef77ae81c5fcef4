package main

import (
	"bytes"
	"strings"
	"testing"
)

// --authz-http-addr: off by default, settable as AUTHZ_AUTHZ_HTTP_ADDR,
// validated like the other listeners and never on their ports.
func TestAuthzHTTPAddrConfig(t *testing.T) {
	cases := map[string]struct {
		args    []string
		env     map[string]string
		want    string // the address, when valid
		problem string // a substring of the error, when not
	}{
		"off by default":      {args: nil, want: ""},
		"flag":                {args: []string{"--authz-http-addr", "127.0.0.1:9002"}, want: "127.0.0.1:9002"},
		"environment":         {env: map[string]string{"AUTHZ_AUTHZ_HTTP_ADDR": ":9002"}, want: ":9002"},
		"flag wins":           {args: []string{"--authz-http-addr", ":9003"}, env: map[string]string{"AUTHZ_AUTHZ_HTTP_ADDR": ":9002"}, want: ":9003"},
		"malformed":           {args: []string{"--authz-http-addr", "9002"}, problem: "--authz-http-addr"},
		"gRPC port":           {args: []string{"--authz-http-addr", ":9001"}, problem: "a port of its own"},
		"HTTP port":           {args: []string{"--http-addr", ":8081", "--authz-http-addr", "127.0.0.1:8081"}, problem: "a port of its own"},
		"bad trusted proxies": {args: []string{"--authz-http-addr", ":9002", "--trusted-proxies", "nonsense"}, problem: "--trusted-proxies"},
		"random port is fine": {args: []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--authz-http-addr", "127.0.0.1:0"}, want: "127.0.0.1:0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"--dev"}, tc.args...)
			c, err := loadConfig(args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v; want one naming %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthzHTTPAddr != tc.want {
				t.Errorf("AuthzHTTPAddr = %q, want %q", c.AuthzHTTPAddr, tc.want)
			}
		})
	}
}
