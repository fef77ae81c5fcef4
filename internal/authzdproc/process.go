// Package authzdproc starts and stops authzd (or any child process) for
// the tests that run the real binary: build it, start it with its
// arguments and environment, collect its output, wait for its listeners
// or its health, and stop it the way Kubernetes does (SIGTERM). The e2e
// suite and authzd's process tests share it so that a change in how the
// daemon starts or reports readiness is made once.
package authzdproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// ErrExited is returned by the Wait methods when the process exits before
// the awaited state; the error wraps it together with the exit status.
var ErrExited = errors.New("the process exited")

// pollEvery is how often output and health are polled while waiting.
const pollEvery = 10 * time.Millisecond

// Build compiles the Go package pkg (a directory such as "." or
// "../authzd") into the file out, with optional -ldflags.
func Build(out, pkg string, ldflags ...string) error {
	args := []string{"build", "-o", out}
	if len(ldflags) > 0 {
		args = append(args, "-ldflags", strings.Join(ldflags, " "))
	}
	if msg, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
	}
	return nil
}

// Process is a started child whose output is collected while it runs.
type Process struct {
	Cmd *exec.Cmd
	// Stdout and Stderr collect the child's output; they are the same
	// buffer when the process was started with combined output.
	Stdout, Stderr *lockedbuf.Buffer

	done chan struct{}
	err  error // cmd.Wait's result, set before done is closed
}

// Start starts cmd (built by the caller, with its arguments, environment
// and any context) with its output collected: stdout and stderr in one
// buffer when combined, else apart.
func Start(cmd *exec.Cmd, combined bool) (*Process, error) {
	p := &Process{Cmd: cmd, Stdout: &lockedbuf.Buffer{}, done: make(chan struct{})}
	p.Stderr = p.Stdout
	if !combined {
		p.Stderr = &lockedbuf.Buffer{}
	}
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited and its output is collected.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error (nil for exit status 0); call it only
// after Done is closed.
func (p *Process) Err() error { return p.err }

// Stop sends SIGTERM and waits up to grace for the exit, then kills the
// process. It reports whether the kill was needed; a process that has
// already exited is left alone.
func (p *Process) Stop(grace time.Duration) (killed bool) {
	select {
	case <-p.done:
		return false
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.done
		return true
	}
}

// WaitLog waits for a JSON line on stderr whose "msg" is msg (the
// daemon's slog output) and returns the record.
func (p *Process) WaitLog(ctx context.Context, msg string) (map[string]any, error) {
	var found map[string]any
	err := p.waitFor(ctx, "the log line "+msg, func() bool {
		for _, line := range strings.Split(p.Stderr.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				found = rec
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitListening waits for authzd's "authzd listening" log line and
// returns the addresses it reports (useful with port 0 listeners).
func (p *Process) WaitListening(ctx context.Context) (grpcAddr, httpAddr string, err error) {
	rec, err := p.WaitLog(ctx, "authzd listening")
	if err != nil {
		return "", "", err
	}
	grpcAddr, _ = rec["grpc_addr"].(string)
	httpAddr, _ = rec["http_addr"].(string)
	return grpcAddr, httpAddr, nil
}

// WaitStdoutLine waits for a line on stdout that starts with prefix.
func (p *Process) WaitStdoutLine(ctx context.Context, prefix string) error {
	return p.waitFor(ctx, "a line starting "+prefix, func() bool {
		for _, line := range strings.Split(p.Stdout.String(), "\n") {
			if strings.HasPrefix(line, prefix) {
				return true
			}
		}
		return false
	})
}

// WaitHealth polls the gRPC health service hc until it reports want for
// service. The error names the last status seen.
func (p *Process) WaitHealth(ctx context.Context, hc grpc_health_v1.HealthClient, service string, want grpc_health_v1.HealthCheckResponse_ServingStatus) error {
	got := grpc_health_v1.HealthCheckResponse_UNKNOWN
	err := p.waitFor(ctx, "health "+want.String(), func() bool {
		got = healthStatus(ctx, hc, service)
		return got == want
	})
	if err != nil {
		return fmt.Errorf("health is %s: %w", got, err)
	}
	return nil
}

func healthStatus(ctx context.Context, hc grpc_health_v1.HealthClient, service string) grpc_health_v1.HealthCheckResponse_ServingStatus {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := hc.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service})
	if err != nil {
		return grpc_health_v1.HealthCheckResponse_UNKNOWN
	}
	return resp.GetStatus()
}

// waitFor polls cond until it holds. It fails with ErrExited when the
// process exits first (cond is tried once more on the complete output)
// and with ctx's error when ctx ends first.
func (p *Process) waitFor(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-p.done:
			if cond() {
				return nil
			}
			return fmt.Errorf("%w before %s (%v)", ErrExited, what, p.err)
		case <-ctx.Done():
			return fmt.Errorf("no %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}
