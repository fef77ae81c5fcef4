package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/internal/demokey"
)

// The public demo master key is refused (exit 2, saying what to do) unless
// --allow-demo-master-key or its variable is given, and then warned about.
func TestDemoMasterKey(t *testing.T) {
	e := newEnv(t)
	demo := []string{"AUTHZ_MASTER_KEY_FILE=" + filepath.Join("..", "..", "deploy", "demo", "DEMO-ONLY-master.key")}

	r := runCtlEnv(t, demo, "--redis-url", e.srv.URL(), "app", "list")
	if r.code != exitUsage {
		t.Errorf("demo key without the switch: %v", r)
	}
	for _, want := range []string{"public demo master key", "head -c 32 /dev/urandom", "--allow-demo-master-key", "AUTHZ_ALLOW_DEMO_MASTER_KEY=true"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal lacks %q: %v", want, r)
		}
	}

	for name, tc := range map[string]struct {
		env  []string
		args []string
	}{
		"flag": {env: demo, args: []string{"--allow-demo-master-key"}},
		"env":  {env: append([]string{"AUTHZ_ALLOW_DEMO_MASTER_KEY=true"}, demo...)},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCtlEnv(t, tc.env, append([]string{"--redis-url", e.srv.URL(), "app", "list"}, tc.args...)...)
			if r.code != 0 || !strings.Contains(r.stderr, "WARNING: "+demokey.Warning) {
				t.Errorf("demo key allowed: want success and the warning, got %v", r)
			}
		})
	}
}
