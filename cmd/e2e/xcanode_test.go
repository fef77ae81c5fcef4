package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
)

// xcaNodeSDK is the npm package the interoperability test drives, pinned:
// a client nobody on the team wrote is the proof of compatibility.
const xcaNodeSDK = "aliyun-api-gateway@1.1.6"

// installNodeSDK installs the SDK into a temporary directory and returns
// it. It fails, never skips, when node, npm or the registry is missing.
func installNodeSDK(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the xca interoperability test needs %s (Node.js 18 or later) on PATH: install it (e.g. apt-get install nodejs npm)", tool)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir, xcaNodeSDK)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s failed (%v): the registry must be reachable (set npm_config_registry for a mirror)\n%s", xcaNodeSDK, err, out)
	}
	return dir
}

// nodeFront is an HTTP server standing where Envoy would: it turns each
// request into Envoy's CheckRequest for API api, asks authzd, and answers
// the deny as Envoy would, or 200 with what the upstream would receive.
func nodeFront(t *testing.T, d *daemon, api string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Set("X-Request-Id", "node-rid")
		cr, err := extauthz.NewCheckRequest(extauthz.HTTPRequest{
			Method: r.Method, URL: "http://" + r.Host + r.RequestURI, Header: h, Body: body,
			ContextExtensions: map[string]string{"api": api},
		})
		if err != nil {
			http.Error(w, "front: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		resp, err := d.client.Check(ctx, cr)
		if err != nil {
			http.Error(w, "front: Check: "+err.Error(), http.StatusBadGateway)
			return
		}
		if den := resp.GetDeniedResponse(); resp.GetStatus().GetCode() != 0 {
			for _, hv := range den.GetHeaders() {
				w.Header().Set(hv.GetHeader().GetKey(), hv.GetHeader().GetValue())
			}
			w.WriteHeader(int(den.GetStatus().GetCode()))
			io.WriteString(w, den.GetBody())
			return
		}
		ok := resp.GetOkResponse()
		set := map[string]string{}
		for _, hv := range ok.GetHeaders() {
			set[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"set": set, "removed": ok.GetHeadersToRemove()})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestXCANodeSDK drives Alibaba's Node.js SDK against authzd.
func TestXCANodeSDK(t *testing.T) {
	sdk := installNodeSDK(t)
	w := newXCAWorld(t)
	ctl(t, w.url, "api", "create", "--id", "ali-node", "--methods", "xca", "--access", "authenticated")
	front := nodeFront(t, w.d, "ali-node")

	run := func(script string, args ...string) string {
		t.Helper()
		src, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		// Next to node_modules, so require() finds the SDK.
		dst := filepath.Join(sdk, filepath.Base(script))
		if err := os.WriteFile(dst, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("node", append([]string{dst}, args...)...)
		cmd.Env = append(os.Environ(), "FRONT_URL="+front.URL, "APP_KEY="+sigKey, "APP_SECRET="+sigSecret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node %s: %v\n%s", script, err, out)
		}
		return string(out)
	}

	type result struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Code    int    `json:"code"`
		Message string `json:"message"`
		Body    struct {
			Set     map[string]string `json:"set"`
			Removed []string          `json:"removed"`
		} `json:"body"`
	}
	got := map[string]result{}
	sc := bufio.NewScanner(strings.NewReader(run("testdata/xcanode/interop.js")))
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("interop.js printed %q: %v", sc.Text(), err)
		}
		got[r.Name] = r
	}
	for _, name := range []string{"GET", "GET with an empty value", "POST form", "POST JSON", "POST JSON with query", "PUT", "DELETE", "custom signed headers"} {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no result", name)
		case !r.OK:
			t.Errorf("%s: the SDK's request was denied: %d %s", name, r.Code, r.Message)
		case r.Body.Set["x-appauthz-app-id"] != "ali-app" || r.Body.Set["x-appauthz-method"] != "xca":
			t.Errorf("%s: identity %v", name, r.Body.Set)
		default:
			for _, h := range []string{"x-ca-key", "x-ca-signature", "x-ca-signature-headers", "x-ca-timestamp", "x-ca-nonce"} {
				if !strings.Contains(strings.Join(r.Body.Removed, " "), h) {
					t.Errorf("%s: %s reaches the upstream (removed %v)", name, h, r.Body.Removed)
				}
			}
		}
	}
	// The SDK prints Alibaba's deny headers: the server's string to sign
	// and Envoy's request id.
	if r := got["wrong secret"]; r.OK || r.Code != 401 || !strings.Contains(r.Message, "request id: node-rid") ||
		!strings.Contains(r.Message, "error message: Invalid Signature, Server StringToSign:`GET#application/json###") {
		t.Errorf("wrong secret: %+v", r)
	}
	// The SDK signs a repeated key as both values joined; the first value
	// is what the gateway signs, so such a request fails (documented).
	if r := got["repeated key"]; r.OK || r.Code != 401 || !strings.Contains(r.Message, "/orders?a=2`") {
		t.Errorf("repeated key: %+v", r)
	}

	// The example of docs/clients.md, as is.
	out := run("../../docs/examples/node/xca.js", front.URL+"/orders")
	if !strings.HasPrefix(out, `GET {`) || !strings.Contains(out, "\nPOST {") || strings.Count(out, `"x-appauthz-method":"xca"`) != 2 {
		t.Errorf("docs example: %s", out)
	}
}
