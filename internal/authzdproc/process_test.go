package authzdproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// childEnv makes the test binary act as the child process (see TestMain).
const childEnv = "AUTHZDPROC_TEST_CHILD"

// TestMain lets the test binary play a daemon: "serve" logs like authzd
// and exits 0 on SIGTERM, "stubborn" ignores SIGTERM, "fail" exits 3.
func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "fail":
		fmt.Fprintln(os.Stderr, `{"msg":"cannot start"}`)
		os.Exit(3)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, `{"msg":"authzd listening","grpc_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`)
		time.Sleep(time.Minute)
	case "serve":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Fprintln(os.Stdout, "Health and metrics: http://127.0.0.1:2")
		fmt.Fprintln(os.Stderr, `{"msg":"authzd listening","grpc_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`)
		<-term
		os.Exit(0)
	}
}

func startChild(t *testing.T, mode string, combined bool) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	p, err := Start(cmd, combined)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Cmd.Process.Kill(); <-p.Done() })
	return p
}

func TestProcess(t *testing.T) {
	tests := map[string]struct {
		mode       string
		combined   bool
		wantErr    error // from WaitListening
		wantKilled bool  // Stop had to kill
	}{
		"a daemon that stops on SIGTERM":            {mode: "serve"},
		"combined output":                           {mode: "serve", combined: true},
		"a daemon that exits before listening":      {mode: "fail", wantErr: ErrExited},
		"a daemon that ignores SIGTERM gets killed": {mode: "stubborn", wantKilled: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := startChild(t, tc.mode, tc.combined)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			g, h, err := p.WaitListening(ctx)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("WaitListening: %v; want %v\n%s", err, tc.wantErr, p.Stderr.String())
			}
			if err == nil && (g != "127.0.0.1:1" || h != "127.0.0.1:2") {
				t.Errorf("WaitListening = %q, %q; want the logged addresses", g, h)
			}
			if tc.mode == "serve" {
				if err := p.WaitStdoutLine(ctx, "Health and metrics:"); err != nil {
					t.Errorf("WaitStdoutLine: %v", err)
				}
			}
			grace := time.Minute // a bound for a busy machine, not an expectation
			if tc.wantKilled {
				grace = 200 * time.Millisecond
			}
			if killed := p.Stop(grace); killed != tc.wantKilled {
				t.Errorf("Stop killed = %v; want %v", killed, tc.wantKilled)
			}
			if (p.Err() == nil) != (tc.mode == "serve") {
				t.Errorf("exit error %v; want nil only for the daemon that stops on SIGTERM", p.Err())
			}
		})
	}
}

func TestWaitGivesUpWithTheContext(t *testing.T) {
	p := startChild(t, "serve", false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.WaitLog(ctx, "never logged"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitLog = %v; want the context's deadline", err)
	}
}

func TestWaitHealth(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("svc", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	gs := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(gs, hs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	hc := grpc_health_v1.NewHealthClient(conn)

	p := startChild(t, "serve", false)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.WaitHealth(ctx, hc, "svc", grpc_health_v1.HealthCheckResponse_SERVING); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitHealth while NOT_SERVING = %v; want the context's deadline", err)
	}
	time.AfterFunc(50*time.Millisecond, func() { hs.SetServingStatus("svc", grpc_health_v1.HealthCheckResponse_SERVING) })
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.WaitHealth(ctx, hc, "svc", grpc_health_v1.HealthCheckResponse_SERVING); err != nil {
		t.Fatalf("WaitHealth: %v", err)
	}
	p.Stop(time.Minute)
	if err := p.WaitHealth(ctx, hc, "other", grpc_health_v1.HealthCheckResponse_SERVING); !errors.Is(err, ErrExited) {
		t.Fatalf("WaitHealth after exit = %v; want ErrExited", err)
	}
}
