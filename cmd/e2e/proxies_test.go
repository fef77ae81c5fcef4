package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
)

// proxyWorld is authzd with its HTTP authorization listener, Redis, an echo
// upstream, and an app with a key, secret and AppCode.
type proxyWorld struct {
	redis             string
	d                 *daemon
	authzAddr         string
	echo              *echoUpstream
	key, secret, code string
	otherKey          string
}

func newProxyWorld(t *testing.T, api string) *proxyWorld {
	t.Helper()
	w := &proxyWorld{redis: startRedis(t).URL(), authzAddr: freeAddr(t), echo: startEcho(t)}
	shop := ctl(t, w.redis, "app", "create", "--name", "Shop", "--id", "shop")
	w.key, w.secret, w.code = shop["app_key"].(string), shop["app_secret"].(string), shop["appcode"].(string)
	w.otherKey = ctl(t, w.redis, "app", "create", "--name", "Other", "--id", "other")["app_key"].(string)
	ctl(t, w.redis, "api", "create", "--id", api, "--methods", "appcode,key,hmac", "--appcode-mode", "header-query", "--access", "authorized")
	ctl(t, w.redis, "grant", "add", "--api", api, "--app", "shop")
	// A route-table API, for locations that name none.
	ctl(t, w.redis, "api", "create", "--id", "routed", "--methods", "key", "--access", "authenticated", "--path-prefix", "/routed")
	w.d = startAuthzd(t, w.redis, "--authz-http-addr", w.authzAddr, "--trusted-proxies", "127.0.0.1/32")
	return w
}

// answer is what the client got from the proxy.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, method, url string, body []byte, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantDenied checks a deny as the client sees it: status, x-appauthz-error,
// the JSON body, a challenge on 401; and that nothing went upstream.
func (w *proxyWorld) wantDenied(t *testing.T, a answer, status int, reason string) map[string]string {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("deny body %q is not JSON (status %d): %v", a.body, a.status, err)
	}
	if a.status != status || body["code"] != reason || a.header.Get("X-Appauthz-Error") != reason || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %v %s; want %d %s", a.status, a.header, a.body, status, reason)
	}
	if body["message"] == "" {
		t.Errorf("deny without a message: %s", a.body)
	}
	if status == 401 && a.header.Get("Www-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if u := w.echo.take(); u != nil {
		t.Errorf("a denied request reached the upstream: %+v", u)
	}
	return body
}

// wantUpstream checks an allow: 200 from the upstream, which got the URI
// uri, the identity of shop by method, and no credential or client-sent
// identity header in any spelling.
func (w *proxyWorld) wantUpstream(t *testing.T, a answer, uri, method, api string) *seenRequest {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d, body %s; want 200", a.status, a.body)
	}
	u := w.echo.take()
	if u == nil {
		t.Fatal("the upstream got nothing")
	}
	if u.URI != uri {
		t.Errorf("upstream URI %q, want %q", u.URI, uri)
	}
	want := map[string]string{"X-Appauthz-App-Id": "shop", "X-Appauthz-App-Name": "Shop", "X-Appauthz-Method": method, "X-Appauthz-Api": api}
	for k, v := range want {
		if got := u.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	for name, vs := range u.Header {
		folded := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		switch {
		case folded == "authorization" || folded == "proxy-authorization" || folded == "x-app-key" || strings.HasPrefix(folded, "x-ca-"):
			t.Errorf("the upstream got credential header %s: %q", name, vs)
		case strings.HasPrefix(folded, "x-appauthz-") && (strings.Contains(name, "_") || len(vs) != 1 || (want[name] == "" && name != "X-Appauthz-Key")):
			t.Errorf("the upstream got client-sent or extra identity header %s: %q", name, vs)
		}
	}
	if method == "appcode" && u.Header.Get("X-Appauthz-Key") != "" {
		t.Errorf("AppCode allow with X-Appauthz-Key %q", u.Header.Get("X-Appauthz-Key"))
	}
	return u
}

// exerciseProxy is the scenario both proxies pass: base is the proxy,
// prefix the protected path, api the API its config names.
func exerciseProxy(t *testing.T, w *proxyWorld, base, prefix, api string) {
	t.Run("key header", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items?page=2", nil, "X-App-Key", w.key)
		u := w.wantUpstream(t, a, prefix+"/items?page=2", "key", api)
		if u.Header.Get("X-Appauthz-Key") == "" {
			t.Error("no X-Appauthz-Key upstream")
		}
	})
	t.Run("key in the query, the rest kept byte for byte", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items?q=a+b%20c&appKey="+w.key+"&z=%7E&page=2", nil)
		w.wantUpstream(t, a, prefix+"/items?q=a+b%20c&z=%7E&page=2", "key", api)
	})
	t.Run("AppCode in the query by an encoded name", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items?%41ppCode="+w.code+"&page=2", nil)
		w.wantUpstream(t, a, prefix+"/items?page=2", "appcode", api)
	})
	t.Run("placeholders in the query are not expanded", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items?q={env.HOME}&appKey="+w.key, nil)
		w.wantUpstream(t, a, prefix+"/items?q=%7Benv.HOME%7D", "key", api)
	})
	t.Run("AppCode header", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items", nil, "Authorization", "APPCODE "+w.code, "X-App-Key", "not-used")
		w.wantUpstream(t, a, prefix+"/items", "appcode", api)
	})
	t.Run("HMAC without a body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+prefix+"/items?page=3", nil)
		if err := (sign.HMAC{Key: w.key, Secret: w.secret}).SignRequest(req); err != nil {
			t.Fatal(err)
		}
		w.wantUpstream(t, do(t, req), prefix+"/items?page=3", "hmac", api)
	})
	t.Run("client-sent identity headers dropped", func(t *testing.T) {
		a := send(t, "GET", base+prefix+"/items", nil, "X-App-Key", w.key,
			"X-Appauthz-App-Id", "admin", "X-Appauthz-Scopes", "root", "X-Appauthz-Upstream-Uri", "/admin",
			"x_appauthz_app_id", "admin", "X_Appauthz_Method", "none", "x_app_key", w.key)
		w.wantUpstream(t, a, prefix+"/items", "key", api)
	})
	t.Run("wrong key", func(t *testing.T) {
		w.wantDenied(t, send(t, "GET", base+prefix+"/items", nil, "X-App-Key", "wrong-"+w.key), 401, "UnknownAppKey")
	})
	t.Run("no credential", func(t *testing.T) {
		w.wantDenied(t, send(t, "GET", base+prefix+"/items", nil), 401, "MissingCredential")
	})
	t.Run("no grant", func(t *testing.T) {
		w.wantDenied(t, send(t, "GET", base+prefix+"/items", nil, "X-App-Key", w.otherKey), 403, "NotAuthorized")
	})
	t.Run("malformed credential parameter is a 400", func(t *testing.T) {
		w.wantDenied(t, send(t, "GET", base+prefix+"/items?appKey=%zz", nil), 400, "BadRequest")
	})
	t.Run("signed body the proxy cannot send", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+prefix+"/items", strings.NewReader(`{"qty":1}`))
		req.Header.Set("Content-Type", "application/json")
		if err := (sign.HMAC{Key: w.key, Secret: w.secret}).SignRequest(req); err != nil {
			t.Fatal(err)
		}
		body := w.wantDenied(t, do(t, req), 400, "BadRequest")
		if !strings.Contains(body["message"], "never send the body") {
			t.Errorf("message %q does not say the proxy cannot send the body", body["message"])
		}
	})
	t.Run("route table", func(t *testing.T) {
		// A client cannot name the API: the proxy's X-Appauthz-Api (or
		// none) replaces the client's.
		a := send(t, "GET", base+"/routed/x?appKey="+w.key, nil, "X-Appauthz-Api", "orders", "X-Appauthz-Stage", "TEST")
		if strings.HasPrefix(prefix, "/orders") { // nginx's catch-all location names no API
			w.wantUpstream(t, a, "/routed/x", "key", "routed")
		} else { // the Caddyfile names one API for the whole site
			w.wantUpstream(t, a, "/routed/x", "key", api)
		}
	})
}

// TestNginxAuthRequestEndToEnd: deploy/nginx as shipped, in front of the
// echo upstream, with real authzd and Redis.
func TestNginxAuthRequestEndToEnd(t *testing.T) {
	w := newProxyWorld(t, "orders")
	p := startNginx(t, w.authzAddr, w.echo.addr())
	exerciseProxy(t, w, p.base, "/orders", "orders")

	t.Run("empty pairs and encoded bytes kept", func(t *testing.T) {
		// nginx forwards authzd's URI as is; Caddy 2.6 rebuilds the query
		// and drops empty pairs (docs/http-mode.md).
		a := send(t, "GET", p.base+"/orders/a%2Fb?x=1&&appKey="+w.key+"&y=%7e+", nil)
		w.wantUpstream(t, a, "/orders/a%2Fb?x=1&&y=%7e+", "key", "orders")
	})
	t.Run("authzd down is a 503", func(t *testing.T) {
		w.d.stop(t)
		w.wantDenied(t, send(t, "GET", p.base+"/orders/items", nil, "X-App-Key", w.key), 503, "StoreUnavailable")
	})
}

// TestCaddyForwardAuthEndToEnd: deploy/caddy/Caddyfile as shipped.
func TestCaddyForwardAuthEndToEnd(t *testing.T) {
	w := newProxyWorld(t, "demo")
	p := startCaddy(t, w.authzAddr, w.echo.addr())
	exerciseProxy(t, w, p.base, "/demo", "demo")
}
