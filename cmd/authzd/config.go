package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/appauthz/appauthz/store"
)

// Config is everything authzd reads at start-up. It is loaded and
// validated once, then never re-read on the request path.
type Config struct {
	GRPCAddr        string
	HTTPAddr        string
	RedisURL        string
	Dev             bool
	LogLevel        slog.Level
	RedisTimeout    time.Duration
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	// RateLimitFailOpen lets authenticated requests pass unlimited when
	// Redis fails while their limits are charged (docs/ratelimits.md).
	RateLimitFailOpen bool
	// OAuth2 configures the token endpoint (oauth2config.go).
	OAuth2 oauth2Config
	// Secrets holds the master keys of app secrets (secrets.go).
	Secrets secretsConfig
	// Cache configures the in-process record cache (cache.go).
	Cache cacheConfig
	// TLS configures TLS on the gRPC listener and to Redis (tls.go).
	TLS tlsConfig

	// AuthzHTTPAddr is the HTTP authorization listener (authzhttp.go);
	// empty: off.
	AuthzHTTPAddr string

	// Version: print the build and exit (--version; no variable).
	Version bool

	// explicit names the flags given on the command line or in the
	// environment (--dev only moves the listeners to loopback when the
	// operator did not choose an address).
	explicit map[string]bool
}

// Defaults of the contract (ARCHITECTURE.md §7).
const (
	defaultGRPCAddr = ":9001"
	defaultHTTPAddr = ":8081"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
	devGRPCAddr     = "127.0.0.1:9001"
	devHTTPAddr     = "127.0.0.1:8081"
)

// defaultRedisTimeout is the budget of one Check: all its Redis round
// trips (Lookup, Principal, Admit) share it, and a shorter deadline sent
// by the proxy wins (less a margin). So the worst Check waits 250 ms and
// still answers, with its x-appauthz-error, inside the 1 s ext_authz
// timeout of the shipped envoy.yaml and Istio mesh config, and inside
// Envoy's 200 ms default too, through the deadline it sends.
// deploytimeouts_test.go holds them to it.
const defaultRedisTimeout = 250 * time.Millisecond

// defaultDrainDelay is how long SIGTERM leaves health NOT_SERVING before
// the listeners close. The shipped proxies notice within 3 s: Envoy's gRPC
// health check runs every 2 s with a 1 s timeout and drops a host on its
// first NOT_SERVING answer; the Kubernetes readiness probe runs every 2 s
// with a 1 s timeout and failureThreshold 1. The rest leaves time for the
// change to reach the proxies (endpoints, EDS). deploytimeouts_test.go
// holds the shipped configs to it.
const defaultDrainDelay = 5 * time.Second

// errUsage means the command line could not be parsed; the flag package
// has already printed the problem and the usage.
var errUsage = errors.New("bad usage")

// envName is the environment variable of a flag: --grpc-addr → AUTHZ_GRPC_ADDR.
func envName(flagName string) string {
	return "AUTHZ_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// loadConfig reads flags, each also settable as AUTHZ_<NAME> (a flag wins
// over its variable), and validates the result. Every problem is reported
// at once, joined in the returned error.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("authzd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c        = Config{explicit: map[string]bool{}}
		logLevel string
	)
	fs.StringVar(&c.GRPCAddr, "grpc-addr", defaultGRPCAddr, "`address` of the ext_authz gRPC listener (Envoy's ext_authz cluster)")
	fs.StringVar(&c.HTTPAddr, "http-addr", defaultHTTPAddr, "`address` of the HTTP listener: /healthz, /readyz, /metrics and the OAuth2 endpoints /oauth2/*")
	fs.StringVar(&c.AuthzHTTPAddr, "authz-http-addr", "", "`address` of the HTTP authorization listener for Envoy http_service, nginx auth_request and Caddy/Traefik forward auth (off when empty; see docs/http-mode.md)")
	fs.StringVar(&c.RedisURL, "redis-url", defaultRedisURL, "Redis `URL`: redis://[user:password@]host:port/db, rediss:// for TLS")
	fs.BoolVar(&c.Version, "version", false, "print the version, VCS commit and Go version, then exit")
	fs.BoolVar(&c.Dev, "dev", false, "run with an embedded in-memory Redis and a demo app (data lost at exit; loopback only)")
	fs.StringVar(&logLevel, "log-level", "info", "log `level`: debug, info, warn or error (denies are logged at info, allows at debug)")
	fs.DurationVar(&c.RedisTimeout, "redis-timeout", defaultRedisTimeout, "budget of one Check for all its Redis round trips (a shorter deadline sent by the proxy wins, less a margin); keep this plus ~200ms under the proxy's ext_authz timeout (1s in the shipped configs), or Envoy answers a bare 503 first")
	fs.DurationVar(&c.DrainDelay, "drain-delay", defaultDrainDelay, "on SIGTERM, how long to report NOT_SERVING before closing listeners; keep it above the proxies' health-check interval plus timeout (2s+1s in the shipped configs), so they stop sending Checks first")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, how long in-flight Checks may take before connections are closed")
	c.OAuth2.register(fs)
	c.Secrets.register(fs)
	c.Cache.register(fs)
	c.TLS.register(fs)
	fs.BoolVar(&c.RateLimitFailOpen, "ratelimit-fail-open", false, "when Redis fails while charging traffic limits, let authenticated requests pass unlimited instead of 503 (signed requests with a replay nonce still fail closed)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: authzd [flags]\n\nappauthz ext_authz server for Envoy. Every flag can also be set as AUTHZ_<NAME>,\ne.g. AUTHZ_REDIS_URL; a flag wins over its variable.\n\nFlags:\n")
		fs.PrintDefaults()
	}

	var problems []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return // AUTHZ_VERSION is no reason for a daemon to exit
		}
		env := envName(f.Name)
		v := getenv(env)
		if v == "" {
			return
		}
		c.explicit[f.Name] = true
		if err := fs.Set(f.Name, v); err != nil {
			shown := v
			if f.Name == "redis-url" {
				shown = maskURL(v)
			}
			problems = append(problems, fmt.Errorf("%s=%q: invalid value for --%s (%v)", env, shown, f.Name, err))
			_ = fs.Set(f.Name, f.DefValue) // report this once, not again as a bad default
		}
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "authzd takes no arguments, got %q\n", fs.Args())
		fs.Usage()
		return Config{}, errUsage
	}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if c.Version {
		return c, nil // nothing else matters for printing the version
	}

	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil || !validLevel(logLevel) {
		problems = append(problems, fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel))
	}
	if c.Dev {
		if !c.explicit["grpc-addr"] {
			c.GRPCAddr = devGRPCAddr
		}
		if !c.explicit["http-addr"] {
			c.HTTPAddr = devHTTPAddr
		}
	}
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return c, errors.Join(problems...)
	}
	return c, nil
}

func validLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

// validate returns every problem of c, each saying what to do.
func (c *Config) validate() []error {
	var problems []error
	gPort, err := checkAddr("--grpc-addr", c.GRPCAddr)
	if err != nil {
		problems = append(problems, err)
	}
	hPort, err := checkAddr("--http-addr", c.HTTPAddr)
	if err != nil {
		problems = append(problems, err)
	}
	if gPort != 0 && gPort == hPort {
		problems = append(problems, fmt.Errorf("--grpc-addr and --http-addr both use port %d: give them different ports", gPort))
	}
	problems = append(problems, c.validateAuthzHTTP(gPort, hPort)...)
	if !c.Dev { // --dev replaces the URL with its embedded server's
		rdb, err := store.OpenURL(c.RedisURL, c.TLS.redisOptions()...)
		if err != nil {
			problems = append(problems, fmt.Errorf("--redis-url: %w", err))
		} else {
			_ = rdb.Close()
		}
	}
	if c.RedisTimeout <= 0 {
		problems = append(problems, fmt.Errorf("--redis-timeout %v: must be positive, e.g. 250ms", c.RedisTimeout))
	}
	if c.DrainDelay < 0 {
		problems = append(problems, fmt.Errorf("--drain-delay %v: must be 0 or more", c.DrainDelay))
	}
	if c.ShutdownTimeout <= 0 {
		problems = append(problems, fmt.Errorf("--shutdown-timeout %v: must be positive, e.g. 15s", c.ShutdownTimeout))
	}
	problems = append(problems, c.OAuth2.validate()...)
	problems = append(problems, c.Secrets.validate(c.Dev)...)
	problems = append(problems, c.Cache.validate()...)
	problems = append(problems, c.TLS.validate()...)
	return problems
}

// checkAddr validates a listen address and returns its port.
func checkAddr(flagName, addr string) (int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%s %q: use host:port or :port, e.g. :9001", flagName, addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%s %q: the port must be a number from 0 to 65535", flagName, addr)
	}
	return n, nil
}

// LogValue is what the start-up log shows: the Redis password masked.
func (c Config) LogValue() slog.Value {
	redisURL := maskURL(c.RedisURL)
	if c.Dev {
		redisURL = "embedded in-memory Redis (--dev)"
	}
	attrs := []slog.Attr{
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("redis_url", redisURL),
		slog.String("authz_http_addr", c.AuthzHTTPAddr),
		slog.Bool("dev", c.Dev),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("redis_timeout", c.RedisTimeout.String()),
		slog.String("drain_delay", c.DrainDelay.String()),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.Bool("ratelimit_fail_open", c.RateLimitFailOpen),
		slog.String("token_ttl", c.OAuth2.TokenTTL.String()),
		slog.Int("oauth2_max_failures", c.OAuth2.MaxFailures),
		slog.String("oauth2_failure_window", c.OAuth2.FailureWindow.String()),
		slog.String("trusted_proxies", c.OAuth2.TrustedProxies),
		slog.Bool("insecure_plaintext_secrets", c.Secrets.InsecurePlaintext),
		slog.Any("cache", c.Cache.logValue()),
		slog.Any("tls", c.TLS.logValue()),
	}
	// --dev without a key file makes its ephemeral key later and logs its
	// id then; "none" here would contradict that line.
	if !c.Dev || c.Secrets.keyring != nil {
		attrs = append(attrs, slog.String("master_key_id", c.Secrets.masterKeyID()))
	}
	return slog.GroupValue(attrs...)
}

// maskURL hides the password of a URL (redis://user:xxxxx@host/0). A URL
// that does not parse is hidden whole: it may still hold a password.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL hidden>"
	}
	return u.Redacted()
}
