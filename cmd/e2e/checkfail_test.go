package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// `authzctl check --fail` against the real authzd: a deny exits 1 for
// scripts and CI, an allow 0; with -o json the decision is still printed.
func TestCheckFailExitCodes(t *testing.T) {
	url := startRedis(t).URL()
	ctl(t, url, "api", "create", "--id", "cli", "--methods", "key", "--access", "authenticated")
	app := ctl(t, url, "app", "create", "--name", "CLI", "--id", "cli-app")
	d := startAuthzd(t, url)
	key, _ := app["app_key"].(string)

	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"allow":             {[]string{"check", "--fail", "--authzd", d.grpcAddr, "--api", "cli", "-H", "X-App-Key: " + key, "GET", "http://h/x"}, 0, "ALLOW"},
		"deny":              {[]string{"check", "--fail", "--authzd", d.grpcAddr, "--api", "cli", "-H", "X-App-Key: nope", "GET", "http://h/x"}, 1, "DENY 401 UnknownAppKey"},
		"deny without fail": {[]string{"check", "--authzd", d.grpcAddr, "--api", "cli", "-H", "X-App-Key: nope", "GET", "http://h/x"}, 0, "DENY 401"},
		"deny, -o json":     {[]string{"-o", "json", "check", "--fail", "--authzd", d.grpcAddr, "--api", "cli", "GET", "http://h/x"}, 1, `"allowed":false`},
	} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := ctlRaw(url, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.want) || stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q, empty stderr", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}

	// An error with -o json is a JSON object on stderr.
	_, stderr, code := ctlRaw(url, "-o", "json", "check", "--authzd", "127.0.0.1:1", "GET", "http://h/x")
	var e struct {
		Error    string `json:"error"`
		Kind     string `json:"kind"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(stderr), &e); err != nil || code != 1 || e.Kind != "operation" || e.ExitCode != 1 || !strings.Contains(e.Error, "cannot reach authzd") {
		t.Errorf("exit %d, stderr %q; want exit 1 and a JSON error object", code, stderr)
	}
}
