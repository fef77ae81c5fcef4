package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/store"
)

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// pingTimeout bounds the reachability check done when a command first
// needs the store, so a wrong --redis-url fails fast with a clear line.
const pingTimeout = 5 * time.Second

// cli is the state shared by the commands of one invocation.
type cli struct {
	redisURL string
	redisTLS redisTLSFiles
	output   string
	out      io.Writer
	keys     masterKeyFlags // secrets.go

	rdb redis.UniversalClient
	st  *store.Store
	// writes is set for a command that writes (needsWritable): the
	// store's format is checked before its first use.
	writes bool
	// needsKey is set for a command that opens or seals app secrets
	// (needsMasterKey): without a master key it is refused.
	needsKey bool

	// secrets are values from this invocation that must never be printed
	// in an error (--secret, --appcode, --code, the Redis password).
	secrets []string
}

// run executes authzctl with args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// go-redis logs dial failures itself; the one error line is ours.
	redis.SetLogger(discardLogger{})

	c := &cli{out: stdout, keys: masterKeyFlags{warn: stderr}}
	root := newRootCmd(c)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	c.close()
	return report(stderr, cmd, err, c.redact, c.output == outputJSON)
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "authzctl",
		Short: "Manage appauthz apps, keys, AppCodes, APIs and grants",
		Long: `authzctl manages the apps, keys, AppCodes, APIs and grants that authzd
reads from Redis, and asks a running authzd for a decision (check).

Exit status: 0 on success, 1 when the operation failed, 2 on a usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          groupRunE,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			c.writes = needsWritable(cmd)
			c.needsKey = needsMasterKey(cmd)
			switch c.output {
			case outputJSON, outputTable:
				return nil
			}
			return usageErrorf("invalid -o %q: use json or table", c.output)
		},
	}
	redisURL := os.Getenv("AUTHZ_REDIS_URL")
	if redisURL == "" {
		redisURL = defaultRedisURL
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.redisURL, "redis-url", redisURL, "Redis holding appauthz's data (env AUTHZ_REDIS_URL)")
	pf.StringVarP(&c.output, "output", "o", outputTable, "output format: json or table")
	c.redisTLS.register(pf)
	c.keys.register(pf)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	root.AddCommand(newAppCmd(c), newKeyCmd(c), newAppCodeCmd(c), newAPICmd(c), newGrantCmd(c), newLimitCmd(c), newTokenCmd(c), newSecretsCmd(c), newMigrateCmd(c), newCheckCmd(), newSignCmd(), newVersionCmd(c))
	markOperationErrors(root)
	return root
}

// store opens Redis on first use, so commands that need none (check, help)
// work without it, and checks it answers so an unreachable Redis is
// reported as such rather than as the first command's failure.
func (c *cli) store(ctx context.Context) (*store.Store, error) {
	if c.st != nil {
		return c.st, nil
	}
	keyring, err := c.keys.keyring(c.needsKey)
	if err != nil {
		return nil, err
	}
	rdb, err := store.OpenURL(c.redisURL, store.WithTLSFiles(c.redisTLS.ca, c.redisTLS.cert, c.redisTLS.key))
	if err != nil {
		return nil, usageErrorf("--redis-url: %v", err) // OpenURL never repeats the URL
	}
	c.rdb = rdb
	shown := "the --redis-url given"
	if u, err := url.Parse(c.redisURL); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			c.secrets = append(c.secrets, p)
		}
		shown = u.Redacted()
	}
	st := store.New(rdb, store.WithKeyring(keyring))
	// Ping through the client, not the store: the store's short per-call
	// timeout would hide the cause (connection refused, wrong password)
	// behind "context deadline exceeded".
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return nil, fmt.Errorf("cannot reach Redis at %s (%v): start it, or point --redis-url or AUTHZ_REDIS_URL at it", shown, err)
	}
	if c.writes {
		// A format-1 store is refused until `authzctl migrate`; an empty
		// one is marked as of the current format by this first write.
		if err := st.EnsureWritable(ctx); err != nil {
			return nil, err
		}
	}
	c.st = st
	return st, nil
}

func (c *cli) close() {
	if c.rdb != nil {
		_ = c.rdb.Close()
	}
}

// secret records a value of this invocation that errors must not show.
func (c *cli) secret(v string) {
	if v != "" {
		c.secrets = append(c.secrets, v)
	}
}

func (c *cli) redact(s string) string {
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

// discardLogger silences go-redis's internal logging.
type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// withStore opens the store (see store) and runs body with it and the
// command's context: the one way a command reaches Redis, so every command
// reports an unreachable or unmigrated store the same way. Commands check
// their flags before calling it, so a usage error never waits on Redis.
func (c *cli) withStore(cmd *cobra.Command, body func(ctx context.Context, st *store.Store) error) error {
	ctx := cmd.Context()
	st, err := c.store(ctx)
	if err != nil {
		return err
	}
	return body(ctx, st)
}
