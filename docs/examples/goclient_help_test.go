package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goclient -h is a request for help: exit 0, and the usage never shows
// the secret (or key) taken from the environment as a flag default.
func TestGoClientHelp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "goclient")
	if out, err := exec.Command("go", "build", "-o", bin, "./goclient").CombinedOutput(); err != nil {
		t.Fatalf("go build ./goclient: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-h")
	cmd.Env = append(os.Environ(), "APP_KEY="+appKey, "APP_SECRET="+appSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("goclient -h: %v; want exit 0\n%s", err, out)
	}
	if !strings.Contains(string(out), "-secret") {
		t.Errorf("goclient -h printed no usage:\n%s", out)
	}
	if strings.Contains(string(out), appSecret) || strings.Contains(string(out), appKey) {
		t.Errorf("goclient -h shows a credential from the environment:\n%s", out)
	}
}
