package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// The start and stop logs say each thing once and in the units an
// operator reads: --dev names its master key once (its real id), and
// durations are strings such as "10ms", not nanoseconds.
func TestProcessStartStopLog(t *testing.T) {
	bin := buildAuthzd(t)
	d := startDaemon(t, bin, nil, "--dev", "--drain-delay", "10ms")
	d.stop(t)

	var ids []any
	for _, rec := range logRecords(t, d.logs.String()) {
		if id, ok := rec["master_key_id"]; ok {
			ids = append(ids, id)
		}
		if cfg, ok := rec["config"].(map[string]any); ok {
			if id, ok := cfg["master_key_id"]; ok {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) != 1 || ids[0] == "none" {
		t.Errorf("master_key_id logged as %v; want once, the ephemeral key's id", ids)
	}
	drain := findLog(d.logs.String(), "health NOT_SERVING; draining")
	if drain == nil || drain["drain_delay"] != "10ms" {
		t.Errorf("drain log = %v; want drain_delay \"10ms\"", drain)
	}
}

func TestHTTPAddrHelpNamesOAuth2(t *testing.T) {
	var out bytes.Buffer
	if _, err := loadConfig([]string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "-http-addr ") { // not -authz-http-addr
			help := out.String()[strings.Index(out.String(), line):]
			if !strings.Contains(strings.SplitN(help, "\n  -", 2)[0], "/oauth2/") {
				t.Errorf("--http-addr help does not name /oauth2/*:\n%s", strings.SplitN(help, "\n  -", 2)[0])
			}
			return
		}
	}
	t.Fatalf("no --http-addr in the help:\n%s", out.String())
}
