package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/internal/authzdproc"
	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// bins holds the binaries built once for the package.
var bins struct{ authzd, authzctl string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "appauthz-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	// Both binaries refuse to start without a master key; they inherit
	// this one through the environment (masterkey_test.go).
	if err := useMasterKey(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	bins.authzd = filepath.Join(dir, "authzd")
	bins.authzctl = filepath.Join(dir, "authzctl")
	for out, pkg := range map[string]string{bins.authzd: "../authzd", bins.authzctl: "../authzctl"} {
		if err := authzdproc.Build(out, pkg); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running authzd.
type daemon struct {
	grpcAddr, httpAddr string
	proc               *authzdproc.Process
	cmd                *exec.Cmd         // proc.Cmd
	logs               *lockedbuf.Buffer // stdout and stderr
	exited             <-chan struct{}   // proc.Done()
	conn               *grpc.ClientConn
	client             authv3.AuthorizationClient
	health             healthpb.HealthClient
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startAuthzd starts the real daemon against redisURL and waits until its
// gRPC health says SERVING.
func startAuthzd(t testing.TB, redisURL string, args ...string) *daemon {
	t.Helper()
	d := launchAuthzd(t, insecure.NewCredentials(), redisURL, args...)
	d.waitHealth(t, healthpb.HealthCheckResponse_SERVING, 15*time.Second)
	return d
}

// launchAuthzd starts the daemon and dials its gRPC listener with creds
// (TLS: tls_test.go) without waiting for its health.
func launchAuthzd(t testing.TB, creds credentials.TransportCredentials, redisURL string, args ...string) *daemon {
	t.Helper()
	d := &daemon{grpcAddr: freeAddr(t), httpAddr: freeAddr(t)}
	// The production defaults (--redis-timeout 250ms, --drain-delay 5s) fit
	// a proxy's 1s budget on a quiet machine; a test machine running the
	// race detector on two busy cores can stall a healthy round trip past
	// 250ms, and a 5s drain only slows every cleanup. Tests about timeouts
	// and draining pass their own values, which come later and win.
	args = append([]string{"--grpc-addr", d.grpcAddr, "--http-addr", d.httpAddr, "--redis-url", redisURL, "--log-level", "debug",
		"--redis-timeout", "2s", "--drain-delay", "0s"}, args...)
	d.start(t, exec.Command(bins.authzd, args...), creds)
	return d
}

// start runs cmd as d's process, stops it when the test ends (printing its
// logs if the test failed) and dials its gRPC listener with creds.
func (d *daemon) start(t testing.TB, cmd *exec.Cmd, creds credentials.TransportCredentials) {
	t.Helper()
	p, err := authzdproc.Start(cmd, true)
	if err != nil {
		t.Fatalf("start authzd: %v", err)
	}
	d.proc, d.cmd, d.logs, d.exited = p, p.Cmd, p.Stdout, p.Done()
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("authzd logs:\n%s", d.logs.String())
		}
	})
	conn, err := grpc.NewClient(d.grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn, d.client, d.health = conn, authv3.NewAuthorizationClient(conn), healthpb.NewHealthClient(conn)
}

func (d *daemon) stop(t testing.TB) {
	if killed := d.proc.Stop(15 * time.Second); killed {
		t.Errorf("authzd did not exit within 15s of SIGTERM")
	}
}

func (d *daemon) healthStatus() healthpb.HealthCheckResponse_ServingStatus {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := d.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return resp.Status
}

func (d *daemon) waitHealth(t testing.TB, want healthpb.HealthCheckResponse_ServingStatus, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := d.proc.WaitHealth(ctx, d.health, "", want)
	switch {
	case errors.Is(err, authzdproc.ErrExited):
		t.Fatalf("authzd exited while waiting for health %s:\n%s", want, d.logs.String())
	case err != nil:
		t.Fatalf("authzd %v, want %s after %s", err, want, within)
	}
}

// httpGet returns the status of GET path on the daemon's HTTP listener.
func (d *daemon) httpGet(t testing.TB, path string) int {
	t.Helper()
	resp, err := http.Get("http://" + d.httpAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// check sends the CheckRequest Envoy would build for r.
func (d *daemon) check(t testing.TB, r extauthz.HTTPRequest) *outcome {
	t.Helper()
	cr, err := extauthz.NewCheckRequest(r)
	if err != nil {
		t.Fatalf("building CheckRequest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := d.client.Check(ctx, cr)
	if err != nil {
		t.Fatalf("Check RPC failed (Envoy would answer status_on_error): %v", err)
	}
	return newOutcome(t, resp)
}

// outcome is a CheckResponse as Envoy applies it.
type outcome struct {
	resp       *authv3.CheckResponse
	allowed    bool
	status     int               // HTTP status the client sees on deny
	reason     string            // x-appauthz-error
	set        map[string]string // request headers set upstream
	removed    []string
	queryGone  []string
	denyHeader map[string][]string
	body       map[string]string
}

func newOutcome(t testing.TB, resp *authv3.CheckResponse) *outcome {
	t.Helper()
	o := &outcome{resp: resp, set: map[string]string{}, denyHeader: map[string][]string{}}
	if resp.GetStatus().GetCode() == 0 {
		o.allowed = true
		ok := resp.GetOkResponse()
		for _, h := range ok.GetHeaders() {
			// The deprecated `append` field, when set, overrides append_action
			// in Envoy; read it by reflection so the check stays without using
			// the deprecated accessor.
			hasAppend := h.ProtoReflect().Has(h.ProtoReflect().Descriptor().Fields().ByName("append"))
			if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD || hasAppend {
				t.Fatalf("header %s: append_action %v append set %v, want OVERWRITE_IF_EXISTS_OR_ADD and no append", h.GetHeader().GetKey(), h.GetAppendAction(), hasAppend)
			}
			o.set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		o.removed = ok.GetHeadersToRemove()
		o.queryGone = ok.GetQueryParametersToRemove()
		for _, r := range o.removed {
			if _, ok := o.set[r]; ok {
				t.Fatalf("header %s both set and removed: Envoy would drop the trusted value", r)
			}
		}
		return o
	}
	den := resp.GetDeniedResponse()
	o.status = int(den.GetStatus().GetCode())
	for _, h := range den.GetHeaders() {
		o.denyHeader[h.GetHeader().GetKey()] = append(o.denyHeader[h.GetHeader().GetKey()], h.GetHeader().GetValue())
	}
	if v := o.denyHeader["x-appauthz-error"]; len(v) == 1 {
		o.reason = v[0]
	}
	if err := json.Unmarshal([]byte(den.GetBody()), &o.body); err != nil {
		t.Fatalf("deny body is not JSON: %q", den.GetBody())
	}
	if o.body["code"] != o.reason || o.body["message"] == "" {
		t.Fatalf("deny body %v disagrees with x-appauthz-error %q", o.body, o.reason)
	}
	return o
}

// wantAllow fails unless the outcome is an allow for app.
func (o *outcome) wantAllow(t testing.TB, app string) {
	t.Helper()
	if !o.allowed {
		t.Fatalf("denied %d %s (%s), want allow for %s", o.status, o.reason, o.body["message"], app)
	}
	if o.set["x-appauthz-app-id"] != app {
		t.Fatalf("x-appauthz-app-id = %q, want %q (set %v)", o.set["x-appauthz-app-id"], app, o.set)
	}
}

// wantDeny fails unless the outcome is a deny with reason and status.
func (o *outcome) wantDeny(t testing.TB, status int, reason string) {
	t.Helper()
	if o.allowed {
		t.Fatalf("allowed (set %v), want deny %d %s", o.set, status, reason)
	}
	if o.status != status || o.reason != reason {
		t.Fatalf("denied %d %s (%s), want %d %s", o.status, o.reason, o.body["message"], status, reason)
	}
}

// ctl runs authzctl -o json against redisURL and decodes its one object.
func ctl(t testing.TB, redisURL string, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := ctlRaw(redisURL, append([]string{"-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("authzctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("authzctl %s: output is not one JSON object: %q", strings.Join(args, " "), out)
	}
	return obj
}

func ctlRaw(redisURL string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(bins.authzctl, append([]string{"--redis-url", redisURL}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		return o.String(), err.Error(), -1
	}
	return o.String(), e.String(), 0
}

func get(url string, headers ...string) extauthz.HTTPRequest {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Add(headers[i], headers[i+1])
	}
	return extauthz.HTTPRequest{Method: "GET", URL: url, Header: h}
}

func withAPI(r extauthz.HTTPRequest, api string, stage ...string) extauthz.HTTPRequest {
	r.ContextExtensions = map[string]string{"api": api}
	if len(stage) > 0 {
		r.ContextExtensions["stage"] = stage[0]
	}
	return r
}
