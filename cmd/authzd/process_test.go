package main

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/internal/authzdproc"
)

// TestProcessDev runs the real binary the way a developer does
// (`authzd --dev`), asks it what Envoy would ask, and stops it the way
// Kubernetes does (SIGTERM).
func TestProcessDev(t *testing.T) {
	// A guard against a hung child, not a performance expectation.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	bin := buildAuthzd(t)
	p, err := authzdproc.Start(exec.CommandContext(ctx, bin, "--dev", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--drain-delay", "0s"), false)
	if err != nil {
		t.Fatal(err)
	}
	cmd, stdout, logs := p.Cmd, p.Stdout, p.Stderr
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op (ErrProcessDone) after a clean exit
		if t.Failed() {
			t.Logf("authzd stderr:\n%s\nstdout:\n%s", logs.String(), stdout.String())
		}
	})

	grpcAddr, httpAddr, err := p.WaitListening(ctx)
	if err != nil {
		t.Fatalf("authzd did not start listening: %v", err)
	}
	if err := p.WaitStdoutLine(ctx, "Health and metrics:"); err != nil { // the dev banner's last line
		t.Fatalf("authzd printed no dev banner: %v", err)
	}
	for _, want := range []string{"AUTHZ_REDIS_URL=redis://127.0.0.1:", "--authzd " + grpcAddr, demoAppCode, demoAppKey} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("dev banner lacks %q:\n%s", want, stdout.String())
		}
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Health starts NOT_SERVING and turns SERVING once Redis answers.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{Service: extauthz.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}

	client := authv3.NewAuthorizationClient(conn)
	check := func(hdr http.Header) *authv3.CheckResponse {
		t.Helper()
		cr, err := extauthz.NewCheckRequest(extauthz.HTTPRequest{Method: "GET", URL: "http://localhost/demo/hello", Header: hdr})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Check(ctx, cr)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return resp
	}
	allow := check(http.Header{"Authorization": {"APPCODE " + demoAppCode}})
	if codes.Code(allow.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("demo AppCode = %v; want allow", allow)
	}
	ok := allow.GetOkResponse()
	if !slices.ContainsFunc(ok.GetHeaders(), func(h *corev3.HeaderValueOption) bool {
		return h.GetHeader().GetKey() == "x-appauthz-app-id" && h.GetHeader().GetValue() == demoAppID
	}) {
		t.Errorf("headers = %v; want x-appauthz-app-id: %s", ok.GetHeaders(), demoAppID)
	}
	if !slices.Contains(ok.GetHeadersToRemove(), "authorization") {
		t.Errorf("headers_to_remove = %v; want authorization", ok.GetHeadersToRemove())
	}
	deny := check(http.Header{"X-App-Key": {"not-a-real-key"}})
	if deny.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Unauthorized {
		t.Errorf("unknown key = %v; want a 401 deny", deny)
	}

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), `appauthz_checks_total{api="demo",method="appcode",reason="OK",result="allow"} 1`) {
			t.Errorf("/metrics lacks the allow counter:\n%s", body)
		}
	}

	// SIGTERM: health turns NOT_SERVING, then the process exits 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch after SIGTERM: %v; want NOT_SERVING first", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
	stopWatch() // GracefulStop waits for open streams
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			t.Fatalf("authzd exit: %v; want exit status 0", err)
		}
	case <-ctx.Done():
		t.Fatal("authzd did not exit after SIGTERM")
	}
	if strings.Contains(logs.String(), demoAppCode) || strings.Contains(logs.String(), demoAppSecret) {
		t.Errorf("a credential reached the logs:\n%s", logs.String())
	}
}
