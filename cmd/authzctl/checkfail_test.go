package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
)

// decider answers every Check with one decision, encoded as authzd does.
type decider struct {
	authv3.UnimplementedAuthorizationServer
	d authz.Decision
}

func (s decider) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return extauthz.ToResponse(s.d), nil
}

// serveDecision starts a gRPC ext_authz endpoint answering d; it returns
// its address.
func serveDecision(t *testing.T, d authz.Decision) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, decider{d: d})
	go gs.Serve(l)
	t.Cleanup(gs.Stop)
	return l.Addr().String()
}

func TestCheckFail(t *testing.T) {
	allow := serveDecision(t, authz.Decision{Allow: true, Reason: authz.ReasonOK})
	deny := serveDecision(t, authz.Decision{Reason: authz.ReasonUnknownAppKey, Message: "the app key is not valid"})
	for name, tc := range map[string]struct {
		args   []string
		code   int
		stdout string
	}{
		"deny without --fail":    {[]string{"check", "--authzd", deny, "GET", "http://h/"}, 0, "DENY 401 UnknownAppKey"},
		"deny with --fail":       {[]string{"check", "--fail", "--authzd", deny, "GET", "http://h/"}, 1, "DENY 401 UnknownAppKey"},
		"deny with --fail, json": {[]string{"-o", "json", "check", "--fail", "--authzd", deny, "GET", "http://h/"}, 1, `"reason":"UnknownAppKey"`},
		"allow with --fail":      {[]string{"check", "--fail", "--authzd", allow, "GET", "http://h/"}, 0, "ALLOW"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("exit %d, stdout %q; want exit %d and %q", code, stdout.String(), tc.code, tc.stdout)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q; a decision is no error", stderr.String())
			}
		})
	}
}

// With -o json an error is one JSON object on stderr, whatever its class.
func TestJSONErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args       []string
		code       int
		kind, text string
	}{
		"usage":              {[]string{"-o", "json", "check", "GET"}, exitUsage, "usage", "needs URL"},
		"bad flag value":     {[]string{"-o", "json", "check", "--timeout", "soon", "GET", "http://h/"}, exitUsage, "usage", "--timeout"},
		"authzd unreachable": {[]string{"-o", "json", "check", "--authzd", "127.0.0.1:1", "GET", "http://h/"}, exitFail, "operation", "cannot reach authzd"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || stdout.Len() != 0 {
				t.Fatalf("exit %d, stdout %q; want exit %d and nothing on stdout", code, stdout.String(), tc.code)
			}
			var got jsonError
			dec := json.NewDecoder(&stderr)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stderr is not a JSON error object: %v", err)
			}
			if dec.More() {
				t.Errorf("stderr holds more than one JSON object")
			}
			if got.Kind != tc.kind || got.ExitCode != tc.code || !strings.Contains(got.Error, tc.text) {
				t.Errorf("error object %+v; want kind %s, exit_code %d, error mentioning %q", got, tc.kind, tc.code, tc.text)
			}
		})
	}
}
