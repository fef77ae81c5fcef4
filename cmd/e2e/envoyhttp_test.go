package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// envoyHTTPCheck sends r to authzd's HTTP authorization listener the way
// Envoy's http_service (envoy-http.yaml) does: the original method, the
// path behind path_prefix /envoy, the original Host, every header and the
// body.
func envoyHTTPCheck(t *testing.T, authzAddr string, r extauthz.HTTPRequest) answer {
	t.Helper()
	host, uri, _ := strings.Cut(strings.TrimPrefix(r.URL, "http://"), "/")
	req, err := http.NewRequest(r.Method, "http://"+authzAddr+"/envoy/"+uri, bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, vs := range r.Header {
		req.Header[k] = slices.Clone(vs)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestEnvoyHTTPServiceMatchesGRPC: for the same request, the HTTP mode
// (Envoy http_service) and the gRPC ext_authz service decide alike and
// tell the proxy the same things: identity headers, headers to remove,
// the cleaned URI, and on deny the status, x-appauthz-error, challenge
// and JSON body. Unlike nginx and Caddy, Envoy sends the body, so a
// signature covering it is checked.
func TestEnvoyHTTPServiceMatchesGRPC(t *testing.T) {
	url := startRedis(t).URL()
	shop := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	key, secret, code := shop["app_key"].(string), shop["app_secret"].(string), shop["appcode"].(string)
	// No replay guard: each request is decided twice, once per transport.
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "appcode,key,hmac,paramsign", "--appcode-mode", "header-query",
		"--access", "authenticated", "--path-prefix", "/orders", "--replay-protection=false")
	authzAddr := freeAddr(t)
	d := startAuthzd(t, url, "--authz-http-addr", authzAddr, "--trusted-proxies", "127.0.0.1/32")

	hmacPost := func() extauthz.HTTPRequest {
		body := []byte(`{"qty":2}`)
		h := http.Header{"Content-Type": {"application/json"}}
		s, err := sign.HMAC{Key: key, Secret: secret}.Sign(sign.HMACRequest{Method: "POST", RequestURI: "/orders/1?x=1", Host: "api.example.com", Header: h, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		s.Apply(h)
		return extauthz.HTTPRequest{Method: "POST", URL: "http://api.example.com/orders/1?x=1", Header: h, Body: body}
	}
	paramsPost := func() extauthz.HTTPRequest {
		s, err := sign.Params{Key: key, Secret: secret}.Sign(sign.ParamRequest{URL: "http://api.example.com/orders/2", ContentType: sign.ContentForm, Body: []byte("item=book&qty=3")}, sign.InBody)
		if err != nil {
			t.Fatal(err)
		}
		return extauthz.HTTPRequest{Method: "POST", URL: s.URL, Header: http.Header{"Content-Type": {sign.ContentForm}}, Body: s.Body}
	}
	cases := map[string]extauthz.HTTPRequest{
		"key header":                 get("http://api.example.com/orders/1?page=2", "X-App-Key", key),
		"key in the query":           get("http://api.example.com/orders/1?app%4Bey=" + key + "&q=a+b&&z=%7e"),
		"AppCode with identity spam": get("http://api.example.com/orders/1", "Authorization", "APPCODE "+code, "X-Appauthz-App-Id", "admin", "x_appauthz_scopes", "root", "X-App-Key", "unused"),
		"HMAC over a JSON body":      hmacPost(),
		"parameter signature, form":  paramsPost(),
		"wrong key":                  get("http://api.example.com/orders/1", "X-App-Key", "wrong"),
		"no credential":              get("http://api.example.com/orders/1"),
		"unknown API":                get("http://api.example.com/other", "X-App-Key", key),
		"malformed credential":       get("http://api.example.com/orders/1?appKey=%zz"),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			o := d.check(t, r)
			a := envoyHTTPCheck(t, authzAddr, r)
			wantAllow := !strings.Contains("wrong key|no credential|unknown API|malformed credential", name)
			if o.allowed != wantAllow {
				t.Fatalf("gRPC allowed=%v (%s %s), want %v", o.allowed, o.reason, o.body["message"], wantAllow)
			}
			if o.allowed != (a.status == 200) {
				t.Fatalf("gRPC allowed=%v (%s), HTTP status %d %s", o.allowed, o.reason, a.status, a.body)
			}
			if !o.allowed {
				var body map[string]string
				if err := json.Unmarshal(a.body, &body); err != nil {
					t.Fatalf("HTTP deny body %q: %v", a.body, err)
				}
				if a.status != o.status || a.header.Get("X-Appauthz-Error") != o.reason || !maps.Equal(body, o.body) {
					t.Errorf("HTTP %d %s %v, gRPC %d %s %v", a.status, a.header.Get("X-Appauthz-Error"), body, o.status, o.reason, o.body)
				}
				if got, want := a.header.Values("Www-Authenticate"), o.denyHeader["www-authenticate"]; !slices.Equal(got, want) {
					t.Errorf("www-authenticate HTTP %q, gRPC %q", got, want)
				}
				return
			}
			for k, v := range o.set {
				if got := a.header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s: HTTP %q, gRPC %q", k, got, v)
				}
			}
			var removed []string
			if v := a.header.Get("X-Envoy-Auth-Headers-To-Remove"); v != "" {
				removed = strings.Split(v, ",")
			}
			if !slices.Equal(removed, o.removed) {
				t.Errorf("headers to remove: HTTP %q, gRPC %q", removed, o.removed)
			}
			_, uri, _ := strings.Cut(strings.TrimPrefix(r.URL, "http://"), "/")
			if got, want := a.header.Get("X-Appauthz-Upstream-Uri"), removeQueryParams("/"+uri, o.queryGone); got != want {
				t.Errorf("upstream URI: HTTP %q, gRPC %q", got, want)
			}
		})
	}
}

// TestAuthzHTTPDrains: on SIGTERM the HTTP authorization listener keeps
// answering through --drain-delay (while /readyz says 503, so proxies
// move away), then closes with the others and authzd exits.
func TestAuthzHTTPDrains(t *testing.T) {
	url := startRedis(t).URL()
	key := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")["app_key"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "key", "--access", "authenticated", "--path-prefix", "/orders")
	authzAddr := freeAddr(t)
	d := startAuthzd(t, url, "--authz-http-addr", authzAddr, "--drain-delay", "2s")
	r := get("http://api.example.com/orders/1", "X-App-Key", key)
	if a := envoyHTTPCheck(t, authzAddr, r); a.status != 200 {
		t.Fatalf("before SIGTERM: %d %s", a.status, a.body)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(2 * time.Second); d.httpGet(t, "/readyz") != 503; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 after SIGTERM")
		}
	}
	if a := envoyHTTPCheck(t, authzAddr, r); a.status != 200 {
		t.Errorf("during the drain: %d %s, want the check still answered", a.status, a.body)
	}
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("authzd did not exit after the drain")
	}
	if c, err := net.DialTimeout("tcp", authzAddr, time.Second); err == nil {
		c.Close()
		t.Error("the HTTP authorization listener still accepts connections after exit")
	}
}
