package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/authztest"
)

// signStore is the one-key world the sign round trips are checked in.
func signStore() *authztest.Store {
	return authztest.New().
		API(authz.API{ID: "api", Methods: []authz.Method{authz.MethodHMAC, authz.MethodParamSign}, Access: authz.AccessAuthenticated, ReplayProtection: true}).
		App(authz.App{ID: "app", Name: "App", Status: authz.StatusActive}).
		Key("K1", authz.Key{KeyID: "kid_test", AppID: "app", Secret: "S1", Status: authz.StatusActive})
}

// runSign runs `sign` under a root with the global -o flag, in process.
func runSign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "authzctl", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringP("output", "o", outputTable, "")
	root.AddCommand(newSignCmd())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

const signNow = "1781000000"

// checkSigned asks the real decision core about a request.
func checkSigned(method, rawURL string, headers map[string]string, body string) authz.Decision {
	u, _ := url.Parse(rawURL)
	path, query := authz.SplitPath(rawRequestURI(rawURL))
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	r := &authz.Request{Method: method, Host: u.Host, Path: path, RawQuery: query, Protocol: "HTTP/1.1", Headers: h, Body: []byte(body), Context: map[string]string{"api": "api"}}
	e := authz.NewEngine(signStore(), authz.WithClock(func() time.Time { return time.Unix(1781000000, 0) }))
	return e.Check(context.Background(), r)
}

func TestSignHMACRoundTrip(t *testing.T) {
	tests := []struct {
		name, method, url, body string
		extra                   []string
	}{
		{"get", "GET", "https://api.example.com/orders?id=7&q=a+b", "", nil},
		{"post json", "POST", "http://api.example.com:8080/orders", `{"name": "bob"}`, []string{"--algorithm", "hmac-sha512", "-H", "Content-Type: application/json"}},
		{"host and custom header signed", "PUT", "https://api.example.com/x", "a=1", []string{"--headers", "date host x-req request-line digest", "-H", "X-Req: 1"}},
		{"x-date", "DELETE", "https://api.example.com", "", []string{"--headers", "x-date request-line"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-o", "json", "sign", "hmac", "--key", "K1", "--secret", "S1", "--now", signNow}, tc.extra...)
			if tc.body != "" {
				args = append(args, "-d", tc.body)
			}
			out, err := runSign(t, append(args, tc.method, tc.url)...)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var got struct {
				Headers       map[string]string `json:"headers"`
				SigningString string            `json:"signing_string"`
				Curl          string            `json:"curl"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || strings.Count(out, "\n") != 1 {
				t.Fatalf("not one JSON object: %q", out)
			}
			if strings.Contains(out, "S1") {
				t.Fatalf("output shows the secret: %s", out)
			}
			hdr := got.Headers
			for i := 0; i+1 < len(tc.extra); i += 2 {
				if tc.extra[i] == "-H" {
					n, v, _ := strings.Cut(tc.extra[i+1], ":")
					hdr[n] = strings.TrimSpace(v)
				}
			}
			if d := checkSigned(tc.method, tc.url, hdr, tc.body); !d.Allow {
				t.Fatalf("verifier says %s: %s\nsigned %q", d.Reason, d.Message, got.SigningString)
			}
			if tc.body != "" {
				if d := checkSigned(tc.method, tc.url, hdr, tc.body+" "); d.Reason != authz.ReasonDigestMismatch {
					t.Fatalf("tampered body: %s", d.Reason)
				}
			}
			if !strings.HasPrefix(got.Curl, "curl -X '"+tc.method+"' '"+tc.url+"'") || !strings.Contains(got.Curl, "-H 'Authorization: hmac ") {
				t.Errorf("curl line %q", got.Curl)
			}
		})
	}
}

func TestSignHMACTable(t *testing.T) {
	out, err := runSign(t, "sign", "hmac", "--key", "K1", "--secret", "S1", "--now", signNow, "-d", "x", "POST", "https://h/p")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "Date: ") || !strings.HasPrefix(lines[1], "Digest: SHA-256=") || !strings.HasPrefix(lines[2], "Authorization: hmac appkey=\"K1\"") || !strings.HasPrefix(lines[4], "curl ") {
		t.Fatalf("table output:\n%s", out)
	}
	if !strings.HasSuffix(lines[0], " GMT") {
		t.Errorf("date not in GMT: %s", lines[0])
	}
}

func TestSignParamsRoundTrip(t *testing.T) {
	tests := []struct {
		name, method, url, body string
		extra                   []string
		bodyChanges             bool
	}{
		{"get", "GET", "https://api.example.com/coupons?param1=123&q=a+b", "", nil, false},
		{"get with timestamp", "GET", "https://api.example.com/coupons", "", []string{"--timestamp"}, false},
		{"form, default content type, sign in query", "POST", "https://api.example.com/x", "a=1&b=x+y", nil, false},
		{"form, sign in body", "POST", "https://api.example.com/x?z=1", "a=1", []string{"--sign-in", "body"}, true},
		{"json raw, sign in query", "POST", "https://api.example.com/x", `{"a":1}`, []string{"-H", "Content-Type: application/json"}, false},
		{"json envelope", "POST", "https://api.example.com/x", `{"a":1}`, []string{"-H", "Content-Type: application/json", "--sign-in", "body", "--timestamp"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-o", "json", "sign", "paramsign", "--key", "K1", "--secret", "S1", "--now", signNow}, tc.extra...)
			if tc.body != "" {
				args = append(args, "-d", tc.body)
			}
			out, err := runSign(t, append(args, tc.method, tc.url)...)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var got struct {
				URL, Body, Sign, Curl string
				ContentType           string `json:"content_type"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if len(got.Sign) != 128 || (got.Body != tc.body) == !tc.bodyChanges && tc.body != "" {
				t.Fatalf("output %+v", got)
			}
			d := checkSigned(tc.method, got.URL, map[string]string{"content-type": got.ContentType}, got.Body)
			if !d.Allow || d.Identity.Method != authz.MethodParamSign {
				t.Fatalf("verifier says %s: %s (url %s body %s)", d.Reason, d.Message, got.URL, got.Body)
			}
			sep := "?"
			if strings.Contains(got.URL, "?") {
				sep = "&"
			}
			if d := checkSigned(tc.method, got.URL+sep+"extra=1", map[string]string{"content-type": got.ContentType}, got.Body); d.Allow {
				t.Fatalf("an added parameter passed")
			}
		})
	}
}

func TestSignUsageErrors(t *testing.T) {
	tests := [][]string{
		{"sign", "hmac", "--secret", "S1", "GET", "https://h/"},
		{"sign", "hmac", "--key", "K1", "GET", "https://h/"},
		{"sign", "hmac", "--key", "K1", "--secret", "S1", "GET"},
		{"sign", "hmac", "--key", "K1", "--secret", "S1", "GET", "/relative"},
		{"sign", "hmac", "--key", "K1", "--secret", "S1", "--algorithm", "hmac-md5", "GET", "https://h/"},
		{"sign", "hmac", "--key", "K1", "--secret", "S1", "-H", "bad", "GET", "https://h/"},
		{"sign", "hmac", "--key", "K1", "--secret", "S1", "--headers", "date x-missing", "GET", "https://h/"},
		{"sign", "paramsign", "--key", "K1", "--secret", "S1", "--sign-in", "header", "GET", "https://h/"},
		{"sign", "paramsign", "--key", "K1", "--secret", "S1", "GET", "https://h/?appKey=x"},
		{"sign", "paramsign", "--key", "K1", "--secret", "S1", "-H", "Content-Type: text/plain", "-d", "x", "POST", "https://h/"},
		{"sign"},
	}
	for _, args := range tests {
		out, err := runSign(t, args...)
		if err == nil {
			t.Errorf("%v: no error", args)
			continue
		}
		if strings.Contains(err.Error()+out, "S1") {
			t.Errorf("%v: error shows the secret: %v", args, err)
		}
	}
}

func TestRawRequestURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://h":               "/",
		"https://h?x=1":           "/?x=1",
		"https://h:8/a%2Fb?q=+#f": "/a%2Fb?q=+",
		"http://h/p/?a=1&b":       "/p/?a=1&b",
	} {
		if got := rawRequestURI(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
