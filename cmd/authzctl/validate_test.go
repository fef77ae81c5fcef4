package main

import (
	"strings"
	"testing"
)

// Values authzd sends upstream as headers or metadata are refused when
// written, with one line that says what is wrong and shows the bad bytes
// escaped (never raw control characters): the store refuses what the flag
// parser let through (exit 1); the parser refuses spaces and control
// characters in a scope itself (exit 2, usage).
func TestUnsendableValuesRefused(t *testing.T) {
	e := newEnv(t)
	e.json(new(map[string]any), "app", "create", "--name", "ok", "--id", "app1")
	tests := map[string]struct {
		args  []string
		usage bool
		want  string
	}{
		"name not UTF-8":   {[]string{"app", "create", "--name", "Bad\xffName"}, false, `authzctl: app create: app name "Bad\xffName" is not valid UTF-8: give it in UTF-8`},
		"name with CR LF":  {[]string{"app", "create", "--name", "a\r\nx-evil: 1"}, false, `authzctl: app create: app name "a\r\nx-evil: 1" holds a control character: use printable text`},
		"name with DEL":    {[]string{"app", "create", "--name", "a\x7fb"}, false, `holds a control character`},
		"scope not UTF-8":  {[]string{"key", "create", "--app", "app1", "--scopes", "read,wr\xffite"}, false, `invalid scope "wr\xffite": use printable ASCII`},
		"scope with a tab": {[]string{"key", "create", "--app", "app1", "--scopes", "re\tad"}, true, `invalid --scopes "re\tad"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var line string
			if tc.usage {
				r := e.run(tc.args...)
				wantUsage(t, r)
				line = r.stderr
			} else {
				line = e.fail(tc.args...)
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("got  %q\nwant it to contain %q", line, tc.want)
			}
		})
	}
	r := e.run("-o", "json", "app", "list")
	if r.code != 0 || strings.Count(r.stdout, `"app_id"`) != 1 {
		t.Errorf("after the refusals app list = %v; want only app1", r)
	}
}
