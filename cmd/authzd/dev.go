package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/alicebob/miniredis/v2"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/store"
)

// The --dev demo data. The credentials are those of the seed clients
// (/work/shared/seeds), imported so those clients work unchanged.
const (
	demoAPI       = "demo"
	demoAppID     = "demo-app"
	demoAppName   = "Demo App"
	demoAppKey    = "088ed68d41504123b76d0812f328b560"
	demoAppSecret = "01c28076047a46a9a3d46d9082f2a716"
	demoAppCode   = "3F2504E04F8911D39A0C0305E82C3301"
)

// startDevRedis runs the embedded Redis-protocol server (miniredis) on a
// random loopback port and returns it with its redis:// URL.
func startDevRedis(log *slog.Logger) (*miniredis.Miniredis, string, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, "", fmt.Errorf("start the embedded dev Redis: %w", err)
	}
	url := "redis://" + m.Addr() + "/0"
	log.Warn("DEV MODE: using an embedded in-memory Redis; all data is lost at exit and it listens on loopback only. Never use --dev in production: run a real Redis and set --redis-url.",
		slog.String("redis_url", url))
	return m, url, nil
}

// seedDemo creates the demo API, app and grant through the store's admin
// API, exactly as `authzctl` would.
func seedDemo(ctx context.Context, st *store.Store) error {
	if err := st.EnsureWritable(ctx); err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	if err := st.CreateAPI(ctx, authz.API{
		ID:               demoAPI,
		Methods:          authz.AllMethods,
		AppCodeMode:      authz.AppCodeHeaderQuery,
		Access:           authz.AccessAuthorized,
		ClockSkew:        authz.DefaultClockSkew,
		ReplayProtection: true,
		Route:            authz.Route{API: demoAPI, Host: "", PathPrefix: "/"},
	}); err != nil {
		return fmt.Errorf("seed demo API: %w", err)
	}
	if _, err := st.CreateApp(ctx, store.CreateAppParams{
		ID: demoAppID, Name: demoAppName, Key: demoAppKey, Secret: demoAppSecret, AppCode: demoAppCode,
	}); err != nil {
		return fmt.Errorf("seed demo app: %w", err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: demoAPI, AppID: demoAppID, Stage: authz.DefaultStage}); err != nil {
		return fmt.Errorf("seed demo grant: %w", err)
	}
	return nil
}

// printDemo writes the credentials and copy-paste commands to stdout
// (plain text, for a human at a terminal; logs go to stderr).
func printDemo(w io.Writer, redisURL, masterKeyFile, grpcAddr, httpAddr string) {
	authzd := dialAddr(grpcAddr)
	check := "go run ./cmd/authzctl check --authzd " + authzd
	url := "http://localhost/demo/hello"
	lines := []string{
		"",
		"appauthz dev mode — in-memory data, lost at exit, loopback only",
		"",
		"Demo API " + demoAPI + " (methods appcode,key,hmac,paramsign,oauth2; AppCode in header or query; grant on " + authz.DefaultStage + ")",
		"Demo app " + demoAppID + " (" + demoAppName + ")",
		"  app_key    " + demoAppKey,
		"  app_secret " + demoAppSecret,
		"  AppCode    " + demoAppCode,
		"",
		"Manage it with authzctl:",
		"  export AUTHZ_REDIS_URL=" + redisURL,
		"  export AUTHZ_MASTER_KEY_FILE=" + masterKeyFile + "   # ephemeral key sealing the app secrets",
		"  go run ./cmd/authzctl app list",
		"",
		"Try a Check (what Envoy would ask authzd at " + authzd + "):",
		"  # AppCode in the Authorization header",
		"  " + check + " -H 'Authorization: APPCODE " + demoAppCode + "' GET " + url,
		"  # AppCode in the query",
		"  " + check + " GET '" + url + "?AppCode=" + demoAppCode + "'",
		"  # API key in a header",
		"  " + check + " -H 'X-App-Key: " + demoAppKey + "' GET " + url,
		"  # API key in the query",
		"  " + check + " GET '" + url + "?appKey=" + demoAppKey + "'",
		"  # denied: unknown key (401 UnknownAppKey)",
		"  " + check + " -H 'X-App-Key: not-a-real-key' GET " + url,
		"",
		"Signed requests (HMAC, parameter signature): get the headers or URL to send with",
		"  go run ./cmd/authzctl sign hmac --key " + demoAppKey + " --secret " + demoAppSecret + " GET " + url,
		"  go run ./cmd/authzctl sign paramsign --key " + demoAppKey + " --secret " + demoAppSecret + " GET " + url,
		"",
		"OAuth2 client credentials: get a token, then call with it",
		"  curl -s -u " + demoAppKey + ":" + demoAppSecret + " -d grant_type=client_credentials http://" + dialAddr(httpAddr) + "/oauth2/token",
		"  " + check + " -H 'Authorization: Bearer <access_token>' GET " + url,
		"  curl -s -u " + demoAppKey + ":" + demoAppSecret + " -d token=<access_token> http://" + dialAddr(httpAddr) + "/oauth2/revoke",
		"",
		"Health and metrics: http://" + dialAddr(httpAddr) + "/readyz  http://" + dialAddr(httpAddr) + "/metrics",
		"",
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// dialAddr turns a listen address into one a client can dial
// (":9001" → "127.0.0.1:9001").
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
