package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// fixture is what the runs authenticate with.
type fixture struct {
	appCode string
	keys    []string // keys[0] signs; all are valid
	secret  string
}

// env is the system under test: Redis, a provisioned app, and authzd.
type env struct {
	dir     string
	redis   *redistest.Server
	authzd  *exec.Cmd
	exited  chan struct{}
	grpc    string
	conns   []*grpc.ClientConn
	fixture fixture
}

const benchSecret = "bench-secret-0123456789abcdef"

func startEnv(ctx context.Context, c config, log io.Writer) (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "authz-bench-"); err != nil {
		return nil, err
	}
	redisURL := c.redisURL
	if redisURL == "" {
		if e.redis, err = redistest.New(); err != nil {
			return nil, err
		}
		redisURL = e.redis.URL()
	}
	kr, masterKey := store.NewRandomKeyring()
	keyFile := filepath.Join(e.dir, "master.key")
	if err := os.WriteFile(keyFile, masterKey, 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "provisioning %d keys…\n", c.keys)
	start := time.Now()
	if e.fixture, err = provision(ctx, redisURL, kr, c.keys); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	fmt.Fprintf(log, "provisioned in %s\n", time.Since(start).Round(time.Millisecond))

	bin := c.authzdBin
	if bin == "" {
		bin = filepath.Join(e.dir, "authzd")
		build := exec.Command("go", "build", "-o", bin, "./cmd/authzd")
		build.Stdout, build.Stderr = log, log
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build authzd (run from the repository root, or give --authzd): %w", err)
		}
	}
	e.grpc, err = freeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"--grpc-addr", e.grpc, "--http-addr", httpAddr, "--redis-url", redisURL,
		"--master-key-file", keyFile, "--log-level", "warn", "--drain-delay", "0"}
	args = append(args, strings.Fields(c.authzdArgs)...)
	if c.authzdCPU != "" {
		e.authzd = exec.Command("taskset", append([]string{"-c", c.authzdCPU, bin}, args...)...)
	} else {
		e.authzd = exec.Command(bin, args...)
	}
	e.authzd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(c.gomaxprocs))
	e.authzd.Stdout, e.authzd.Stderr = log, log
	if err := e.authzd.Start(); err != nil {
		return nil, fmt.Errorf("start authzd: %w", err)
	}
	e.exited = make(chan struct{})
	go func() { e.authzd.Wait(); close(e.exited) }()

	for range c.conns {
		cc, err := grpc.NewClient(e.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		e.conns = append(e.conns, cc)
	}
	if err := e.waitServing(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) waitServing(ctx context.Context) error {
	hc := healthpb.NewHealthClient(e.conns[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-e.exited:
			return errors.New("authzd exited before serving (its log is above)")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("authzd not SERVING after 30s")
		}
	}
}

func (e *env) close() {
	for _, cc := range e.conns {
		cc.Close()
	}
	if e.authzd != nil && e.authzd.Process != nil {
		e.authzd.Process.Signal(os.Interrupt)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			e.authzd.Process.Kill()
			<-e.exited
		}
	}
	if e.redis != nil {
		e.redis.Stop()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// provision creates API "bench" (every method but OAuth2, grants required,
// replay guard on), app "bench-app" with its AppCode and n keys, and the
// app's grant.
func provision(ctx context.Context, redisURL string, kr *store.Keyring, n int) (fixture, error) {
	rdb, err := store.OpenURL(redisURL)
	if err != nil {
		return fixture{}, err
	}
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fixture{}, err
	}
	st := store.New(rdb, store.WithKeyring(kr), store.WithTimeout(time.Minute))
	f := fixture{appCode: "BENCH0APPCODE0000000000000000001", secret: benchSecret}
	// Mark the empty store as the current format, as authzctl does before
	// its first write: otherwise authzd would read it as format-1 data and
	// look every key up in both layouts.
	if err := st.EnsureWritable(ctx); err != nil {
		return f, err
	}
	if err := st.CreateAPI(ctx, authz.API{
		ID:          "bench",
		Methods:     []authz.Method{authz.MethodAppCode, authz.MethodKey, authz.MethodHMAC, authz.MethodParamSign},
		AppCodeMode: authz.AppCodeHeader, Access: authz.AccessAuthorized, ReplayProtection: true,
	}); err != nil {
		return f, err
	}
	f.keys = make([]string, n)
	bulk := make([]store.BulkKey, 0, n-1)
	for i := range f.keys {
		f.keys[i] = fmt.Sprintf("bench-key-%07d", i)
		if i > 0 {
			bulk = append(bulk, store.BulkKey{AppKey: f.keys[i], Secret: benchSecret})
		}
	}
	if _, err := st.CreateApp(ctx, store.CreateAppParams{ID: "bench-app", Name: "Bench", Key: f.keys[0], Secret: benchSecret, AppCode: f.appCode}); err != nil {
		return f, err
	}
	if err := st.BulkLoadKeys(ctx, "bench-app", bulk); err != nil {
		return f, err
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "bench", AppID: "bench-app"}); err != nil {
		return f, err
	}
	return f, st.LoadScripts(ctx)
}

// procStats reads a process's CPU time (user+system) and peak RSS.
func procStats(pid int) (cpu time.Duration, peakRSS int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which may hold spaces, start after ")".
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0, 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	const userHZ = 100 // /proc reports clock ticks of USER_HZ, 100 on Linux
	cpu = time.Duration(ut+st) * time.Second / userHZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return cpu, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			peakRSS = kb << 10
		}
	}
	return cpu, peakRSS, nil
}

func freeAddr() (string, error) {
	l, err := netListen()
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
