package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/store"
)

func TestMasterKeyConfig(t *testing.T) {
	dir := t.TempDir()
	_, key := store.NewRandomKeyring()
	good := filepath.Join(dir, "good.key")
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(good, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args    []string
		env     map[string]string
		problem string // "" = starts
	}{
		"no key refuses":         {problem: "no master key"},
		"key file":               {args: []string{"--master-key-file", good}},
		"key file from env":      {env: map[string]string{"AUTHZ_MASTER_KEY_FILE": good}},
		"with an old key":        {args: []string{"--master-key-file", good, "--old-master-key-file", good}},
		"bad key file":           {args: []string{"--master-key-file", bad}, problem: "32-byte"},
		"missing key file":       {args: []string{"--master-key-file", filepath.Join(dir, "none")}, problem: "no such file"},
		"old without current":    {args: []string{"--old-master-key-file", good}, problem: "needs --master-key-file"},
		"insecure plaintext":     {args: []string{"--insecure-plaintext-secrets"}},
		"dev":                    {args: []string{"--dev"}},
		"demo key refused":       {args: []string{"--master-key-file", demoKeyFile}, problem: "public demo master key"},
		"demo key allowed":       {args: []string{"--master-key-file", demoKeyFile, "--allow-demo-master-key"}},
		"demo key allowed (env)": {args: []string{"--master-key-file", demoKeyFile}, env: map[string]string{"AUTHZ_ALLOW_DEMO_MASTER_KEY": "true"}},
		"demo key in --dev":      {args: []string{"--dev", "--master-key-file", demoKeyFile}},
		"bad trusted proxy":      {args: []string{"--dev", "--trusted-proxies", "10.0.0.0/8,nonsense"}, problem: "nonsense"},
		"token ttl out of range": {args: []string{"--dev", "--token-ttl", "48h"}, problem: "--token-ttl"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := loadConfig(tc.args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
			if err == nil {
				err = c.Secrets.required(c.Dev)
			}
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.problem)
			}
			if tc.problem == "" && c.Secrets.MasterKeyFile == good && c.Secrets.keyring.ID() != store.KeyID(key) {
				t.Errorf("keyring id %s, want %s", c.Secrets.keyring.ID(), store.KeyID(key))
			}
		})
	}
	// realMain reports it as a configuration problem: exit 2.
	var stderr bytes.Buffer
	if code := realMain(nil, func(string) string { return "" }, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "no master key") {
		t.Errorf("realMain without a key: exit %d, %s", code, stderr.String())
	}
}
