package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
)

func TestCheckOutput(t *testing.T) {
	allow := extauthz.ToResponse(authz.Decision{
		Allow: true, Reason: authz.ReasonOK,
		HeadersToRemove: []string{"authorization"},
		QueryToRemove:   []string{"AppCode"},
		HeadersToSet: []authz.HeaderValue{
			{Name: "x-appauthz-app-id", Value: "demo-app"},
			{Name: "x-appauthz-api", Value: "demo"},
		},
	})
	deny := extauthz.ToResponse(authz.Decision{
		Reason: authz.ReasonUnknownAppKey, Message: "the app key is not valid",
		ResponseHeaders: []authz.HeaderValue{{Name: "www-authenticate", Value: "Bearer realm=\"x\""}},
	})
	// authzd sanitizes header values, but another server could send a
	// terminal escape: put one back after ToResponse.
	for _, h := range deny.GetDeniedResponse().GetHeaders() {
		if h.GetHeader().GetKey() == "www-authenticate" {
			h.Header.Value += "\x1b[31m"
		}
	}
	// A bare non-OK status with no denied_response: Envoy answers 403.
	bare := &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied)}}

	tests := map[string]struct {
		resp  *authv3.CheckResponse
		table string
		json  checkResult
	}{
		"allow": {
			resp: allow,
			table: "ALLOW\n" +
				"headers set upstream:\n  x-appauthz-api: demo\n  x-appauthz-app-id: demo-app\n" +
				"headers removed:\n  authorization\n" +
				"query params removed:\n  AppCode\n",
			json: checkResult{Allowed: true, Status: 200, Reason: "OK",
				HeadersSet:     map[string]string{"x-appauthz-app-id": "demo-app", "x-appauthz-api": "demo"},
				HeadersRemoved: []string{"authorization"}, QueryRemoved: []string{"AppCode"},
				ResponseHeaders: map[string]string{}},
		},
		"deny": {
			resp: deny,
			table: "DENY 401 UnknownAppKey: the app key is not valid\n" +
				"response headers:\n  content-type: application/json\n  www-authenticate: Bearer realm=\"x\" [31m\n  x-appauthz-error: UnknownAppKey\n",
			json: checkResult{Status: 401, Reason: "UnknownAppKey", Message: "the app key is not valid",
				HeadersSet: map[string]string{}, HeadersRemoved: []string{}, QueryRemoved: []string{},
				ResponseHeaders: map[string]string{"content-type": "application/json",
					"www-authenticate": "Bearer realm=\"x\"\x1b[31m", "x-appauthz-error": "UnknownAppKey"}},
		},
		"bare deny is a 403": {
			resp:  bare,
			table: "DENY 403 : \n",
			json: checkResult{Status: 403, HeadersSet: map[string]string{}, HeadersRemoved: []string{},
				QueryRemoved: []string{}, ResponseHeaders: map[string]string{}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := resultFromResponse(tc.resp)
			var table bytes.Buffer
			if err := writeCheckResult(&table, "table", r); err != nil {
				t.Fatal(err)
			}
			if table.String() != tc.table {
				t.Errorf("table output:\n%s\nwant:\n%s", table.String(), tc.table)
			}

			var js bytes.Buffer
			if err := writeCheckResult(&js, "json", r); err != nil {
				t.Fatal(err)
			}
			if strings.Count(strings.TrimSpace(js.String()), "\n") != 0 {
				t.Errorf("-o json is not one line: %q", js.String())
			}
			var got checkResult
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.json) {
				t.Errorf("json = %+v\nwant   %+v", got, tc.json)
			}
			// The contract's field names, present even when empty.
			var raw map[string]any
			_ = json.Unmarshal(js.Bytes(), &raw)
			for _, k := range []string{"allowed", "status", "reason", "message", "headers_set", "headers_removed", "query_removed", "response_headers"} {
				if _, ok := raw[k]; !ok || raw[k] == nil {
					t.Errorf("json lacks %q: %s", k, js.String())
				}
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	h, err := parseHeaders([]string{"Authorization: APPCODE abc", "x-dup:a", "X-Dup:  b", "Empty:"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "APPCODE abc" || strings.Join(h.Values("X-Dup"), "|") != "a|b" || h.Get("Empty") != "" {
		t.Errorf("headers = %v", h)
	}
	for _, bad := range []string{"no-colon", ": value", "  : v"} {
		if _, err := parseHeaders([]string{bad}); err == nil {
			t.Errorf("parseHeaders(%q) accepted", bad)
		} else if ue := (*usageError)(nil); !errors.As(err, &ue) {
			t.Errorf("parseHeaders(%q) error %T; want a usage error (exit 2)", bad, err)
		}
	}
}

func TestReadBody(t *testing.T) {
	if b, err := readBody("a=1", nil); err != nil || string(b) != "a=1" {
		t.Errorf("literal = %q, %v", b, err)
	}
	if b, err := readBody("@-", strings.NewReader("from stdin")); err != nil || string(b) != "from stdin" {
		t.Errorf("stdin = %q, %v", b, err)
	}
	dir := t.TempDir()
	if _, err := readBody("@"+dir+"/missing.json", nil); err == nil {
		t.Error("missing file accepted")
	}
}

// The command's wiring without a network: usage errors exit 2, and an
// unreachable authzd is an operation failure (exit 1) saying what to check.
func TestCheckCommandExitCodes(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"missing URL":      {[]string{"check", "GET"}, 2, "needs URL"},
		"relative URL":     {[]string{"check", "GET", "/demo"}, 2, "absolute"},
		"bad header":       {[]string{"check", "-H", "oops", "GET", "http://h/"}, 2, "Name: value"},
		"authzd not there": {[]string{"check", "--authzd", "127.0.0.1:1", "GET", "http://h/"}, 1, "cannot reach authzd"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), tc.code, tc.msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q; want nothing on failure", stdout.String())
			}
		})
	}
}
