package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/internal/demokey"
	"github.com/appauthz/appauthz/store/redistest"
)

// demoKeyFile is the public key docker-compose.yml mounts.
var demoKeyFile = filepath.Join("..", "..", "deploy", "demo", "DEMO-ONLY-master.key")

// The real binary refuses the public demo key (exit 2, saying what to do)
// unless told it is a demo, and then warns at start.
func TestProcessDemoMasterKey(t *testing.T) {
	bin := buildAuthzd(t)
	srv := redistest.Start(t)

	code, _, stderr := runOnce(t, bin, nil, "--redis-url", srv.URL(), "--master-key-file", demoKeyFile)
	if code != 2 {
		t.Errorf("demo key without the switch: exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{"public demo master key", "head -c 32 /dev/urandom", "--allow-demo-master-key", "AUTHZ_ALLOW_DEMO_MASTER_KEY=true"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal lacks %q:\n%s", want, stderr)
		}
	}

	for name, run := range map[string]struct {
		env  []string
		args []string
	}{
		"flag": {args: []string{"--allow-demo-master-key"}},
		"env":  {env: []string{"AUTHZ_ALLOW_DEMO_MASTER_KEY=true"}},
	} {
		t.Run(name, func(t *testing.T) {
			d := startDaemon(t, bin, run.env, append([]string{"--redis-url", srv.URL(), "--master-key-file", demoKeyFile}, run.args...)...)
			d.stop(t)
			if rec := findLog(d.logs.String(), demokey.Warning); rec == nil || rec["level"] != "WARN" {
				t.Errorf("no demo-key warning at start:\n%s", d.logs.String())
			}
		})
	}
}
