package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// --version prints the build and exits 0 before any configuration check;
// AUTHZ_VERSION in the environment does not make the daemon exit.
func TestVersionFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"--version"}, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("--version: exit %d, stderr %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.HasPrefix(out, "authzd ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("--version printed %q", out)
	}
	c, err := loadConfig([]string{"--dev"}, func(k string) string {
		if k == "AUTHZ_VERSION" {
			return "true"
		}
		return ""
	}, io.Discard)
	if err != nil || c.Version {
		t.Errorf("AUTHZ_VERSION=true: Version %v, err %v; want it ignored", c.Version, err)
	}
}

// The release build's -ldflags reach --version and appauthz_build_info.
func TestProcessBuildInfo(t *testing.T) {
	const pkg = "github.com/appauthz/appauthz/internal/buildinfo"
	bin := buildAuthzd(t, "-X "+pkg+".Version=v9.8.7-test", "-X "+pkg+".Commit=0123abcd")
	code, stdout, stderr := runOnce(t, bin, nil, "--version")
	if want := "authzd v9.8.7-test (commit 0123abcd, " + runtime.Version() + ")\n"; code != 0 || stdout != want {
		t.Errorf("--version: exit %d, stdout %q, want %q (stderr %s)", code, stdout, want, stderr)
	}

	srv := redistest.Start(t)
	_, key := store.NewRandomKeyring()
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, nil, "--redis-url", srv.URL(), "--master-key-file", keyFile)
	resp, err := http.Get("http://" + d.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `appauthz_build_info{commit="0123abcd",goversion="` + runtime.Version() + `",version="v9.8.7-test"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	d.stop(t)
}
