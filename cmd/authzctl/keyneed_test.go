package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/store"
)

// Every command is classified: it opens or seals app secrets and needs
// the master key, or it does not. A command added without a line here
// fails the test, so nobody adds one that silently needs (or skips) it.
func TestNeedsMasterKey(t *testing.T) {
	want := map[string]bool{
		// Open or seal secrets.
		"app create":            true,
		"key create":            true,
		"migrate":               true,
		"secrets rotate-master": true,
		// Read or write records, never a secret.
		"app list": false, "app show": false, "app disable": false, "app enable": false, "app delete": false,
		"key list": false, "key revoke": false, "key disable": false, "key enable": false,
		"appcode reset": false,
		"api list":      false, "api show": false, "api create": false, "api update": false, "api delete": false,
		"grant list": false, "grant add": false, "grant revoke": false,
		"limit list": false, "limit show": false, "limit set": false, "limit delete": false,
		"token revoke": false,
		// No store at all (never asks for the key; classified as needing
		// it only because they are not listed as secret-free).
		"check": true, "sign hmac": true, "sign paramsign": true, "sign xca": true, "version": true,
	}
	seen := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if sub.HasSubCommands() {
				walk(sub)
				continue
			}
			path := strings.TrimPrefix(sub.CommandPath(), "authzctl ")
			seen[path] = true
			w, ok := want[path]
			if !ok {
				t.Errorf("command %q is not classified: add it here and, if it never opens or seals a secret, to secretFreeCommands", path)
				continue
			}
			if got := needsMasterKey(sub); got != w {
				t.Errorf("needsMasterKey(%q) = %v, want %v", path, got, w)
			}
		}
	}
	walk(newRootCmd(&cli{out: io.Discard, keys: masterKeyFlags{warn: io.Discard}}))
	for path := range want {
		if !seen[path] {
			t.Errorf("%q is classified but no such command exists", path)
		}
	}
	for path := range secretFreeCommands {
		if !seen[strings.TrimPrefix(path, "authzctl ")] {
			t.Errorf("secretFreeCommands lists %q, which is no command", path)
		}
	}
}

// Read-only commands (and writes that touch no secret) run without a
// master key against real Redis; commands sealing secrets still refuse.
func TestReadOnlyWithoutMasterKey(t *testing.T) {
	e := newEnv(t)
	var app store.CreatedApp
	e.json(&app, "app", "create", "--name", "R", "--id", "ro")
	for _, args := range [][]string{
		{"api", "create", "--id", "orders", "--methods", "key,hmac"},
		{"grant", "add", "--api", "orders", "--app", "ro"},
		{"limit", "set", "--api", "orders", "--app", "ro", "--rate", "10/s"},
	} {
		if r := e.run(args...); r.code != 0 {
			t.Fatalf("%v: %v", args, r)
		}
	}

	noKey := []string{"AUTHZ_MASTER_KEY_FILE="}
	for _, args := range [][]string{
		{"app", "list"},
		{"app", "show", "ro"},
		{"key", "list", "--app", "ro"},
		{"api", "list"},
		{"api", "show", "orders"},
		{"grant", "list", "--api", "orders"},
		{"limit", "list", "--api", "orders"},
		{"limit", "show", "--api", "orders", "--app", "ro"},
		{"-o", "json", "app", "list"},
		// Writes that touch no secret.
		{"key", "disable", app.KeyID},
		{"key", "enable", app.KeyID},
		{"grant", "revoke", "--api", "orders", "--app", "ro"},
	} {
		r := runCtlEnv(t, noKey, append([]string{"--redis-url", e.srv.URL()}, args...)...)
		if r.code != 0 || strings.Contains(r.stderr, "master key") {
			t.Errorf("authzctl %s without a master key: %v", strings.Join(args, " "), r)
		}
	}
	for _, args := range [][]string{
		{"app", "create", "--name", "S"},
		{"key", "create", "--app", "ro"},
		{"migrate"},
		{"secrets", "rotate-master"},
	} {
		r := runCtlEnv(t, noKey, append([]string{"--redis-url", e.srv.URL()}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--master-key-file") {
			t.Errorf("authzctl %s without a master key: %v, want exit 2 asking for --master-key-file", strings.Join(args, " "), r)
		}
	}
}
