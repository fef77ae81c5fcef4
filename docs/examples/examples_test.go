// Package examples_test runs the client examples of docs/clients.md
// against the real decision core, so the documentation cannot drift from
// the server.
package examples_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/authztest"
)

const (
	appKey    = "demo-key"
	appSecret = "demo-secret-0123456789"
)

// memStore is a one-app world: API "demo" takes hmac, paramsign and xca.
func memStore() *authztest.Store {
	return authztest.New().
		API(authz.API{ID: "demo", Methods: []authz.Method{authz.MethodHMAC, authz.MethodParamSign, authz.MethodXCA}, Access: authz.AccessAuthenticated, ReplayProtection: true}).
		App(authz.App{ID: "demo-app", Name: "Demo", Status: authz.StatusActive}).
		Key(appKey, authz.Key{KeyID: "kid_demo", AppID: "demo-app", Secret: appSecret, Status: authz.StatusActive})
}

// toRequest is what Envoy would report for r: the raw path and query as
// sent, lowercase headers, Host as :authority.
func toRequest(r *http.Request) *authz.Request {
	body, _ := io.ReadAll(r.Body)
	path, query := authz.SplitPath(r.RequestURI)
	h := map[string]string{}
	for k, v := range r.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return &authz.Request{Method: r.Method, Host: r.Host, Path: path, RawQuery: query, Protocol: r.Proto, Headers: h, Body: body, Context: map[string]string{"api": "demo"}}
}

// gateway answers like Envoy with authzd in front of an echo upstream.
func gateway(t *testing.T, now func() time.Time) *httptest.Server {
	e := authz.NewEngine(memStore(), authz.WithClock(now))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := e.Check(r.Context(), toRequest(r))
		w.WriteHeader(d.Status())
		fmt.Fprintf(w, "%s %s %s", d.Reason, d.Identity.AppID, d.Message)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGoClient(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "goclient")
	build := exec.Command("go", "build", "-o", bin, "./goclient")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./goclient: %v\n%s", err, out)
	}
	srv := gateway(t, time.Now)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"hmac get", []string{"-key", appKey, "-secret", appSecret, srv.URL + "/orders?id=7&q=a+b"}, "200 OK\nOK demo-app"},
		{"hmac post", []string{"-key", appKey, "-secret", appSecret, "-method", "POST", "-data", `{"name":"bob"}`, srv.URL + "/orders"}, "200 OK\nOK demo-app"},
		{"paramsign get", []string{"-mode", "paramsign", "-key", appKey, "-secret", appSecret, srv.URL + "/coupons?param1=123&param2=A%20b&param2=c"}, "200 OK\nOK demo-app"},
		{"hmac wrong secret", []string{"-key", appKey, "-secret", "wrong", srv.URL + "/orders"}, "401 Unauthorized\nInvalidSignature"},
		{"paramsign wrong secret", []string{"-mode", "paramsign", "-key", appKey, "-secret", "wrong", srv.URL + "/coupons"}, "401 Unauthorized\nInvalidSignature"},
	}
	for _, tc := range tests {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), tc.want) {
			t.Errorf("%s: %v\n%s\nwant prefix %q", tc.name, err, out, tc.want)
		}
	}
}

// needTools fails the test when a tool the shell examples use is missing:
// a skipped example would let a broken doc pass. .ci/run installs them.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the shell example needs %s, which is not installed: apt-get install %s", tool, tool)
		}
	}
}

func runScript(t *testing.T, env []string, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("curl", script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
	return string(out)
}

func TestCurlHMAC(t *testing.T) {
	needTools(t, "openssl")
	// Signed at a fixed date; the verifier's clock is set to it.
	const date = "Thu, 22 Jun 2017 21:12:36 GMT"
	at, _ := http.ParseTime(date)
	e := authz.NewEngine(memStore(), authz.WithClock(func() time.Time { return at }))
	for _, tc := range []struct{ method, url, body string }{
		{"GET", "https://api.example.com/requests?name=bob", ""},
		{"GET", "https://api.example.com?x=%20y", ""},
		{"POST", "https://api.example.com/requests", `{"name": "bob"}`},
	} {
		out := runScript(t, []string{"DRY_RUN=1", "DATE=" + date, "APP_KEY=" + appKey, "APP_SECRET=" + appSecret}, "hmac.sh", tc.method, tc.url, tc.body)
		h := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			n, v, _ := strings.Cut(line, ": ")
			h[strings.ToLower(n)] = v
		}
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		r := &authz.Request{Method: tc.method, Host: req.Host, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Protocol: "HTTP/1.1", Headers: h, Body: []byte(tc.body), Context: map[string]string{"api": "demo"}}
		if r.Path == "" {
			r.Path = "/"
		}
		if d := e.Check(context.Background(), r); !d.Allow {
			t.Errorf("%s %s: %s %s\n%s", tc.method, tc.url, d.Reason, d.Message, out)
		}
	}

	// And for real, through curl.
	needTools(t, "curl")
	srv := gateway(t, time.Now)
	out := runScript(t, []string{"APP_KEY=" + appKey, "APP_SECRET=" + appSecret}, "hmac.sh", "POST", srv.URL+"/orders?id=7", `{"a":1}`)
	if !strings.HasPrefix(out, "OK demo-app") {
		t.Errorf("curl through the gateway: %s", out)
	}
}

func TestCurlParamSign(t *testing.T) {
	needTools(t, "openssl")
	// The seed's vector, computed by the script.
	out := runScript(t, []string{"DRY_RUN=1", "NO_TIMESTAMP=1", "APP_KEY=foobar", "APP_SECRET=my.secret"}, "paramsign.sh",
		"https://domain.com/", "param1=123", "param2=Abc", "pampasCall=query.coupon")
	if !strings.Contains(out, "sign: d6fee3145be668425f70878084f9d39fce3f7c5fca283ffc4c5d5a5568077334e9a50526e7e806758a66b7647ae9951f9324a0f921e28417e07d69beed79f7ef\n") {
		t.Errorf("seed vector: %s", out)
	}

	needTools(t, "curl")
	srv := gateway(t, time.Now)
	out = runScript(t, []string{"APP_KEY=" + appKey, "APP_SECRET=" + appSecret}, "paramsign.sh", srv.URL+"/coupons", "q=a b&c", "q=2", "z=é")
	if !strings.HasPrefix(out, "OK demo-app") {
		t.Errorf("curl through the gateway: %s", out)
	}
	out = runScript(t, []string{"APP_KEY=" + appKey, "APP_SECRET=wrong"}, "paramsign.sh", srv.URL+"/coupons", "q=1")
	if !strings.HasPrefix(out, "InvalidSignature") {
		t.Errorf("wrong secret: %s", out)
	}
}

// TestClientsDoc keeps docs/clients.md honest: its Go blocks are the code
// of goclient (which TestGoClient runs), and each bash block prints the
// text block that follows it.
func TestClientsDoc(t *testing.T) {
	doc, err := os.ReadFile("../clients.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("goclient/main.go")
	if err != nil {
		t.Fatal(err)
	}
	type block struct{ lang, body string }
	var blocks []block
	parts := strings.Split(string(doc), "```")
	for i := 1; i+1 < len(parts); i += 2 {
		lang, body, _ := strings.Cut(parts[i], "\n")
		blocks = append(blocks, block{lang, body})
	}
	var goBlocks, bashBlocks int
	for i, b := range blocks {
		switch b.lang {
		case "go":
			goBlocks++
			if !strings.Contains(string(src), b.body) {
				t.Errorf("a Go block of clients.md is not in goclient/main.go:\n%s", b.body)
			}
		case "bash":
			bashBlocks++
			needTools(t, "openssl")
			if i+1 == len(blocks) || blocks[i+1].lang != "text" {
				t.Fatalf("bash block without a text block after it:\n%s", b.body)
			}
			out, err := exec.Command("bash", "-c", b.body).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != strings.TrimSpace(blocks[i+1].body) {
				t.Errorf("bash block:\n%s\nprints %q (%v), the doc says %q", b.body, out, err, blocks[i+1].body)
			}
		}
	}
	if goBlocks < 2 || bashBlocks < 4 {
		t.Errorf("found %d Go and %d bash blocks: did the doc's fences change?", goBlocks, bashBlocks)
	}
}
