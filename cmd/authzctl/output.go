package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/appauthz/appauthz/authz"
)

// Output formats of -o.
const (
	outputJSON  = "json"
	outputTable = "table"
)

// emit prints a command's result: with -o json exactly one JSON object, v;
// with -o table what table writes, aligned by a tabwriter. Nothing is
// printed before the operation succeeded, so a failure leaves stdout empty.
func (c *cli) emit(v any, table func(t *tableWriter)) error {
	if c.output == outputJSON {
		return json.NewEncoder(c.out).Encode(v)
	}
	t := &tableWriter{tw: tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)}
	table(t)
	return t.tw.Flush()
}

// tableWriter writes aligned rows of sanitized cells.
type tableWriter struct{ tw *tabwriter.Writer }

// row writes one line of cells.
func (t *tableWriter) row(cells ...string) {
	out := make([]string, len(cells))
	for i, s := range cells {
		out[i] = cell(s)
	}
	fmt.Fprintln(t.tw, strings.Join(out, "\t"))
}

// fields writes label/value pairs, one per line (show, create, state changes).
func (t *tableWriter) fields(pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		t.row(pairs[i], pairs[i+1])
	}
}

// note writes a line that is not part of the alignment.
func (t *tableWriter) note(s string) {
	fmt.Fprintln(t.tw, "\n"+s)
}

// cell keeps a value on its line and column, and keeps control characters
// from a stored name (tabs, newlines, terminal escapes) off the terminal.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func list(items []string) string { return strings.Join(items, ",") }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// expiryCell shows an optional expiry: nil is never; any instant, the
// epoch or year 1 included, is shown as itself.
func expiryCell(t *time.Time) string { return authz.ExpiryOf(t).String() }

// nonNil makes an empty list encode as [] rather than null, so JSON
// consumers can iterate without a check.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Small JSON answers of state-changing commands.
type appStatusJSON struct {
	AppID  string `json:"app_id"`
	Status string `json:"status"`
}

type appDeletedJSON struct {
	AppID   string `json:"app_id"`
	Deleted bool   `json:"deleted"`
}

type keyStatusJSON struct {
	KeyID  string `json:"key_id"`
	Status string `json:"status"`
}

type keyRevokedJSON struct {
	KeyID   string `json:"key_id"`
	Revoked bool   `json:"revoked"`
}
