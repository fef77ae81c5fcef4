package main

import (
	"runtime"
	"strings"
	"testing"
)

// version needs no Redis and no master key.
func TestVersionCommand(t *testing.T) {
	noStore := []string{"AUTHZ_MASTER_KEY_FILE=", "AUTHZ_REDIS_URL=redis://127.0.0.1:1/0"}
	r := runCtlEnv(t, noStore, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "VERSION") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Fatalf("version: %v", r)
	}
	var v struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		GoVersion string `json:"go_version"`
	}
	r = runCtlEnv(t, noStore, "-o", "json", "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("version -o json: %v", r)
	}
	decodeOne(t, r.stdout, &v)
	if v.Version == "" || v.Commit == "" || v.GoVersion != runtime.Version() {
		t.Errorf("version -o json = %+v", v)
	}
	if r := runCtl(t, "version", "extra"); r.code != exitUsage {
		t.Errorf("version extra: %v, want a usage error", r)
	}
}
