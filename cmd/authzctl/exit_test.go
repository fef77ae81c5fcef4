package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// wantUsage requires exit 2, empty stdout, and an error line followed by
// usage on stderr.
func wantUsage(t *testing.T, r result) {
	t.Helper()
	if r.code != exitUsage || r.stdout != "" {
		t.Fatalf("want exit 2 and empty stdout, got %v", r)
	}
	if !strings.HasPrefix(r.stderr, "authzctl: ") || !strings.Contains(r.stderr, "\nUsage:\n") {
		t.Errorf("want an error line then usage on stderr, got %q", r.stderr)
	}
}

// TestUsageErrors need no Redis: they fail before one is opened, which the
// unreachable --redis-url proves (it would exit 1).
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		says string
	}{
		"no command":          {nil, "needs a subcommand"},
		"unknown command":     {[]string{"frobnicate"}, `unknown command "frobnicate"`},
		"unknown subcommand":  {[]string{"app", "frobnicate"}, `unknown command "frobnicate" for "authzctl app"`},
		"group alone":         {[]string{"grant"}, "authzctl grant needs a subcommand"},
		"unknown flag":        {[]string{"app", "list", "--frob"}, "unknown flag: --frob"},
		"bad output":          {[]string{"-o", "yaml", "app", "list"}, `invalid -o "yaml"`},
		"missing --name":      {[]string{"app", "create"}, "needs --name"},
		"empty --name":        {[]string{"app", "create", "--name", " "}, "needs --name"},
		"key without secret":  {[]string{"app", "create", "--name", "n", "--key", "k1"}, "--key needs --secret"},
		"secret without key":  {[]string{"key", "create", "--app", "a", "--secret", "secret-1"}, "--secret needs --key"},
		"short secret":        {[]string{"app", "create", "--name", "n", "--key", "k", "--secret", "short"}, "8 to 256"},
		"short appcode":       {[]string{"appcode", "reset", "--app", "a", "--code", "abc"}, "8 to 256"},
		"missing ID":          {[]string{"app", "show"}, "needs ID"},
		"extra argument":      {[]string{"app", "list", "x"}, "takes no arguments"},
		"missing --app":       {[]string{"key", "list"}, "needs --app"},
		"bad expires":         {[]string{"key", "create", "--app", "a", "--expires", "tomorrow"}, "RFC 3339"},
		"empty expires":       {[]string{"grant", "add", "--api", "x", "--app", "a", "--expires", ""}, "--expires is empty"},
		"blank key expires":   {[]string{"key", "create", "--app", "a", "--expires", " "}, "--expires is empty"},
		"expires in year -1":  {[]string{"grant", "add", "--api", "x", "--app", "a", "--expires", "0000-01-01T00:00:00+01:00"}, "outside years 0000-9999"},
		"grant without --api": {[]string{"grant", "add", "--app", "a"}, "needs --api"},
		"bad stage":           {[]string{"grant", "add", "--api", "x", "--app", "a", "--stage", "a:b"}, "invalid --stage"},
		"update nothing":      {[]string{"api", "update", "x"}, "give at least one flag"},
		"bad redis url":       {[]string{"--redis-url", "http://h/", "app", "list"}, "not supported"},
		"short bare key":      {[]string{"key", "create", "--app", "a", "--key", "short-key", "--secret", "secret-1"}, "at least 16 characters"},
		"short key, any use":  {[]string{"app", "create", "--name", "n", "--key", "short-key", "--secret", "secret-1", "--methods", "hmac,key"}, "at least 16 characters"},
		"appcode key method":  {[]string{"key", "create", "--app", "a", "--methods", "appcode"}, "not a key method"},
		"unknown key method":  {[]string{"key", "create", "--app", "a", "--methods", "magic"}, "invalid --methods"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			if name != "bad redis url" {
				args = append([]string{"--redis-url", "redis://127.0.0.1:1/0"}, args...)
			}
			r := runCtl(t, args...)
			wantUsage(t, r)
			if !strings.Contains(r.stderr, tc.says) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.says)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	r := runCtl(t, "app", "create", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--appcode") || r.stderr != "" {
		t.Errorf("help: %v", r)
	}
}

func TestOperationErrors(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "x", "--id", "taken", "--key", "key-1-0123456789ab", "--secret", "secret-one", "--appcode", "appcode-one")

	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown app":   {[]string{"app", "show", "nope"}, `authzctl: app "nope" not found: see 'authzctl app list'`},
		"disable":       {[]string{"app", "disable", "nope"}, `authzctl: app "nope" not found: see 'authzctl app list'`},
		"delete":        {[]string{"app", "delete", "nope"}, `authzctl: app "nope" not found: see 'authzctl app list'`},
		"key list":      {[]string{"key", "list", "--app", "nope"}, `authzctl: app "nope" not found: see 'authzctl app list'`},
		"duplicate id":  {[]string{"app", "create", "--name", "y", "--id", "taken", "--secret", "secret-two", "--key", "key-2-0123456789ab"}, `authzctl: app "taken" already exists: choose another --id, or see 'authzctl app show taken'`},
		"duplicate key": {[]string{"app", "create", "--name", "y", "--key", "key-1-0123456789ab", "--secret", "secret-two"}, `authzctl: the app_key or the AppCode given is already in use: choose another --key or --appcode`},
		"duplicate appcode": {[]string{"app", "create", "--name", "y", "--appcode", "appcode-one"},
			"authzctl: the AppCode given is already in use: choose another --appcode"},
		"grant unknown api": {[]string{"grant", "add", "--api", "nope", "--app", "taken"}, `authzctl: API "nope" not found: see 'authzctl api list'`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			line := e.fail(tc.args...)
			if line != tc.want {
				t.Errorf("got  %q\nwant %q", line, tc.want)
			}
			for _, s := range []string{"secret-one", "secret-two", "appcode-one"} {
				if strings.Contains(line, s) {
					t.Errorf("error line shows a secret: %q", line)
				}
			}
		})
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	for _, args := range [][]string{
		{"app", "list"},
		{"-o", "json", "app", "create", "--name", "n", "--key", "key-1-0123456789ab", "--secret", "secret-one"},
		{"grant", "list", "--api", "x"},
	} {
		r := runCtl(t, append([]string{"--redis-url", "redis://:hunter22@" + addr + "/0"}, args...)...)
		if args[0] == "-o" { // -o json: the error is a JSON object on stderr
			var je jsonError
			if err := json.Unmarshal([]byte(r.stderr), &je); err != nil || r.code != exitFail {
				t.Fatalf("%v: want exit 1 and a JSON error, got %v", args, r)
			}
			r.stderr = "authzctl: " + je.Error + "\n"
		}
		line := wantFail(t, r)
		if !strings.Contains(line, "cannot reach Redis at redis://:xxxxx@"+addr+"/0") || !strings.Contains(line, "--redis-url") {
			t.Errorf("%v: %q should say Redis is unreachable, where, and how to fix it", args, line)
		}
		if strings.Contains(line, "hunter22") || strings.Contains(line, "secret-one") {
			t.Errorf("%v: error shows a secret: %q", args, line)
		}
	}
}

// TestRedisGoneAfterStart stops a Redis that authzctl reached before.
func TestRedisGoneAfterStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	if r := runCtl(t, "--redis-url", srv.URL(), "app", "list"); r.code != 0 {
		t.Fatalf("with Redis up: %v", r)
	}
	srv.Stop()
	wantFail(t, runCtl(t, "--redis-url", srv.URL(), "app", "list"))
}

func TestEnvRedisURL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cmd := []string{"-o", "json", "app", "create", "--name", "from-env", "--id", "env"}
	r := runCtlEnv(t, []string{"AUTHZ_REDIS_URL=" + srv.URL()}, cmd...)
	if r.code != 0 {
		t.Fatalf("with AUTHZ_REDIS_URL: %v", r)
	}
	// The flag wins over the environment.
	r = runCtlEnv(t, []string{"AUTHZ_REDIS_URL=redis://127.0.0.1:1/0"}, append([]string{"--redis-url", srv.URL()}, "app", "show", "env")...)
	if r.code != 0 || !strings.Contains(r.stdout, "from-env") {
		t.Fatalf("--redis-url over AUTHZ_REDIS_URL: %v", r)
	}
}
