// Command authzd is appauthz's ext_authz server: Envoy asks it over gRPC
// whether each request may go upstream, and it answers from apps, keys,
// APIs and grants kept in Redis.
//
//	authzd --redis-url redis://127.0.0.1:6379/0
//	authzd --dev    # embedded in-memory Redis and a demo app
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/appauthz/appauthz/internal/buildinfo"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// realMain returns the exit code: 0 after a clean shutdown, 1 when
// serving failed, 2 on bad usage or configuration.
func realMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args, getenv, stderr)
	if err == nil && cfg.Version {
		fmt.Fprintln(stdout, "authzd "+buildinfo.Read().String())
		return 0
	}
	if err == nil {
		err = cfg.Secrets.required(cfg.Dev)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "authzd: invalid configuration:\n  - %s\nRun authzd -h for the flags.\n",
			strings.ReplaceAll(err.Error(), "\n", "\n  - "))
		return 2
	}
	tuneGC(getenv)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	redis.SetLogger(redisLogger{log})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg, stdout, log); err != nil {
		log.Error("authzd failed", slog.String("error", err.Error()))
		return 1
	}
	return 0
}
