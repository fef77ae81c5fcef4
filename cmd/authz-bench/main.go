// Command authz-bench measures authzd over real gRPC: it starts a
// redis-server and an authzd pinned to one CPU, provisions an app with as
// many keys as asked, then drives Envoy-shaped Checks for each auth method
// from a fixed number of concurrent callers and reports throughput,
// latency percentiles, and authzd's CPU time and peak RSS.
//
// Run it pinned to the other CPU, as `make bench-load` does:
//
//	taskset -c 1 authz-bench --authzd-cpu 0 --keys 1000000
//
// docs/performance.md has the figures and the exact commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

type config struct {
	methods     string
	concurrency int
	conns       int
	duration    time.Duration
	warmup      time.Duration
	keys        int
	activeKeys  int
	presign     int
	authzdBin   string
	authzdCPU   string
	gomaxprocs  int
	authzdArgs  string
	redisURL    string
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("authz-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.methods, "methods", "appcode,key,hmac,paramsign", "comma-separated auth `methods` to measure, one run each")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent callers (each waits for its answer before the next Check)")
	fs.IntVar(&c.conns, "conns", 2, "gRPC connections the callers share (Envoy multiplexes on a few)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per method")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured load before each run (fills the cache, the connections, the CPU caches)")
	fs.IntVar(&c.keys, "keys", 1, "app_keys loaded into Redis (one app holds them all)")
	fs.IntVar(&c.activeKeys, "active-keys", 10000, "distinct app_keys the key method spreads its Checks over (at most --keys)")
	fs.IntVar(&c.presign, "presign", 300000, "signed requests prepared before each signature run (each may be used once: the replay guard refuses a second use)")
	fs.StringVar(&c.authzdBin, "authzd", "", "authzd `binary` (default: build ./cmd/authzd)")
	fs.StringVar(&c.authzdCPU, "authzd-cpu", "0", "CPU list authzd is pinned to with taskset (\"\": not pinned)")
	fs.IntVar(&c.gomaxprocs, "authzd-gomaxprocs", 1, "GOMAXPROCS of authzd")
	fs.StringVar(&c.authzdArgs, "authzd-args", "", "extra authzd flags, space-separated (e.g. \"--cache=false\")")
	fs.StringVar(&c.redisURL, "redis-url", "", "use this Redis instead of starting one (its data is FLUSHED)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if c.concurrency < 1 || c.conns < 1 || c.duration <= 0 || c.keys < 1 {
		fmt.Fprintln(stderr, "authz-bench: --concurrency, --conns, --duration and --keys must be positive")
		return 2
	}
	c.activeKeys = max(1, min(c.activeKeys, c.keys))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "authz-bench:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, c config, stdout, stderr io.Writer) error {
	env, err := startEnv(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer env.close()

	fmt.Fprintf(stdout, "# authz-bench: %d callers on %d connections, %s per method after %s warm-up; %d keys in Redis; authzd GOMAXPROCS=%d on CPU %q; extra authzd flags %q\n",
		c.concurrency, c.conns, c.duration, c.warmup, c.keys, c.gomaxprocs, c.authzdCPU, c.authzdArgs)
	fmt.Fprintf(stdout, "%-10s %10s %9s %9s %9s %9s %10s %10s %9s\n", "method", "checks/s", "p50", "p90", "p99", "max", "errors", "cpu_s", "rss_MiB")
	for _, m := range strings.Split(c.methods, ",") {
		gen, err := newGenerator(m, c, env.fixture)
		if err != nil {
			return err
		}
		res, err := drive(ctx, env, gen, c)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		fmt.Fprintf(stdout, "%-10s %10.0f %9s %9s %9s %9s %10d %10.2f %9.1f\n", m, res.rate,
			ms(res.p50), ms(res.p90), ms(res.p99), ms(res.max), res.errors, res.cpu.Seconds(), float64(res.peakRSS)/(1<<20))
		if res.firstError != "" {
			fmt.Fprintf(stdout, "#   first error: %s\n", res.firstError)
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d.Microseconds())/1000) }
