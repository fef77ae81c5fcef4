package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/store"
)

// columnGap separates table cells: runs of two or more spaces.
var columnGap = regexp.MustCompile(`  +`)

// table runs a command with the default table output and returns its
// lines split into cells, checking the columns line up.
func (e *env) table(args ...string) [][]string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("authzctl %v: %v", args, r)
	}
	if strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		e.t.Fatalf("default output is JSON, want a table: %s", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var rows [][]string
	for _, l := range lines {
		rows = append(rows, columnGap.Split(strings.TrimRight(l, " "), -1))
	}
	// Every cell of a column starts at the same offset as its header.
	header := lines[0]
	for _, l := range lines[1:] {
		for _, h := range rows[0][1:] {
			off := strings.Index(header, h)
			if off > len(l) || off > 0 && l[off-1] != ' ' || off < len(l) && l[off] == ' ' {
				e.t.Errorf("column %q misaligned in %q (header %q)", h, l, header)
			}
		}
	}
	return rows
}

func TestTableOutput(t *testing.T) {
	e := newEnv(t)
	var a store.CreatedApp
	e.json(&a, "app", "create", "--name", "Orders Service", "--id", "orders-svc", "--key", "key-1", "--secret", "secret-one", "--methods", "hmac")
	var b store.CreatedApp
	e.json(&b, "app", "create", "--name", "Bee", "--id", "b")
	var k2 store.CreatedKey
	e.json(&k2, "key", "create", "--app", "orders-svc", "--key", "key-2-0123456789ab", "--secret", "secret-two", "--scopes", "read,write", "--expires", "2030-01-02T03:04:05Z")
	// Keys are listed by key id, which is random: sort the expected rows.
	row1 := []string{a.KeyID, "orders-svc", "-", "hmac", "active", "never", "*"}
	row2 := []string{k2.KeyID, "orders-svc", "read,write", "all", "active", "2030-01-02T03:04:05Z", "*"}
	if k2.KeyID < a.KeyID {
		row1, row2 = row2, row1
	}
	ids := a.KeyID + "," + k2.KeyID
	if k2.KeyID < a.KeyID {
		ids = k2.KeyID + "," + a.KeyID
	}
	e.run("app", "disable", "b")
	e.run("api", "create", "--id", "orders", "--methods", "key,hmac", "--host", "api.example.com", "--path-prefix", "/orders")
	e.run("grant", "add", "--api", "orders", "--app", "orders-svc", "--expires", "2001-01-01T00:00:00Z")

	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{"app list", []string{"app", "list"}, [][]string{
			{"APP ID", "NAME", "STATUS", "KEYS", "APPCODE", "CREATED"},
			{"b", "Bee", "disabled", b.KeyID, "yes", "*"},
			{"orders-svc", "Orders Service", "active", ids, "yes", "*"},
		}},
		{"key list", []string{"key", "list", "--app", "orders-svc"}, [][]string{
			{"KEY ID", "APP ID", "SCOPES", "METHODS", "STATUS", "EXPIRES", "CREATED"},
			row1, row2,
		}},
		{"api list", []string{"api", "list"}, [][]string{
			{"API", "METHODS", "APPCODE MODE", "ACCESS", "ROUTE", "SCOPES"},
			{"orders", "key,hmac", "header", "authorized", "api.example.com/orders", "-"},
		}},
		{"grant list", []string{"grant", "list", "--api", "orders"}, [][]string{
			{"API", "APP ID", "STAGE", "EXPIRES", "STATE"},
			{"orders", "orders-svc", "RELEASE", "2001-01-01T00:00:00Z", "expired"},
		}},
		{"app show", []string{"app", "show", "orders-svc"}, [][]string{
			{"APP ID", "orders-svc"}, {"NAME", "Orders Service"}, {"STATUS", "active"},
			{"KEYS", ids}, {"APPCODE", "yes"}, {"CREATED", "*"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.table(tc.args...)
			if len(got) != len(tc.want) {
				t.Fatalf("rows:\n%q\nwant\n%q", got, tc.want)
			}
			for i := range got {
				if !cellsMatch(got[i], tc.want[i]) {
					t.Errorf("row %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// cellsMatch compares cells; "*" in want matches any non-empty cell.
func cellsMatch(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if want[i] == "*" && got[i] != "" {
			continue
		}
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestEmptyTableHasHeader(t *testing.T) {
	e := newEnv(t)
	rows := e.table("app", "list")
	if len(rows) != 1 || rows[0][0] != "APP ID" {
		t.Errorf("empty app list table = %q, want the header only", rows)
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":             "-",
		"plain":        "plain",
		"a\tb\nc":      "a b c",
		"esc\x1b[31mx": "esc [31mx",
		"ünïcode":      "ünïcode",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"one":                          "one",
		"unknown command\n\tDid you\n": "unknown command Did you",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
