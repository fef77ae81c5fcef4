package httpauthz

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/appauthz/appauthz/authz"
)

// recorder is a Decider that keeps the request it was asked about and
// answers a fixed decision.
type recorder struct {
	got *authz.Request
	d   authz.Decision
}

func (r *recorder) Check(_ context.Context, req *authz.Request) authz.Decision {
	r.got = req
	return r.d
}

var proxies = Trusted{netip.MustParsePrefix("10.0.0.0/8")}

func newTestHandler(d authz.Decision) (*Handler, *recorder) {
	rec := &recorder{d: d}
	h, err := New(rec, WithTrustedProxies(proxies), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithMaxBody(64))
	if err != nil {
		panic(err)
	}
	return h, rec
}

func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func allowed() authz.Decision {
	return authz.Decision{
		Allow: true, Reason: authz.ReasonOK,
		Identity:        authz.Identity{AppID: "a1", Method: authz.MethodKey, API: "orders"},
		HeadersToSet:    []authz.HeaderValue{{Name: "x-appauthz-app-id", Value: "a1"}, {Name: "x-appauthz-api", Value: "orders"}},
		HeadersToRemove: []string{"x-app-key", "x-appauthz-app-id", "x_appauthz_key"},
		QueryToRemove:   []string{"appKey", "app%4Bey"},
	}
}

func TestForwardRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "http://authzd/auth", nil)
	r.RemoteAddr = "10.1.2.3:4000"
	r.Header.Set("X-Original-Method", "POST")
	r.Header.Set("X-Original-URI", "/orders/a%2Fb?appKey=k&q=a+b&app%4Bey=k&t={env.HOME}")
	r.Header.Set("X-Forwarded-Host", "api.example.com")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Original-Protocol", "HTTP/2.0")
	r.Header.Set("X-Forwarded-For", "198.51.100.7, 10.9.9.9")
	r.Header.Set("X-Appauthz-Api", "orders")
	r.Header.Set("X-Appauthz-Stage", "TEST")
	r.Header.Set("X-App-Key", "k")
	r.Header.Add("Accept", "a")
	r.Header.Add("Accept", "b")
	r.Header.Set("X-Original-Content-Length", "12")
	r.Header.Set("X-Envoy-Auth-Partial-Body", "false")
	h, rec := newTestHandler(allowed())
	resp := serve(h, r)

	got := rec.got
	if got == nil {
		t.Fatal("the decider was not asked")
	}
	want := authz.Request{Method: "POST", Host: "api.example.com", Path: "/orders/a%2Fb", RawQuery: "appKey=k&q=a+b&app%4Bey=k&t={env.HOME}", Scheme: "https", Protocol: "HTTP/2.0", SourceAddr: "198.51.100.7"}
	if got.Protocol != want.Protocol || got.Method != want.Method || got.Host != want.Host || got.Path != want.Path || got.RawQuery != want.RawQuery || got.Scheme != want.Scheme || got.SourceAddr != want.SourceAddr {
		t.Errorf("request = %+v\nwant %+v", got, want)
	}
	if !maps.Equal(got.Context, map[string]string{"api": "orders", "stage": "TEST"}) {
		t.Errorf("context = %v", got.Context)
	}
	wantHeaders := map[string]string{"x-app-key": "k", "accept": "a,b", "x-forwarded-for": "198.51.100.7, 10.9.9.9", "content-length": "12"}
	if !maps.Equal(got.Headers, wantHeaders) {
		t.Errorf("headers = %v\nwant %v", got.Headers, wantHeaders)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Braces are encoded: Caddy would expand {env.HOME} from a header.
	if u := resp.Header.Get(HeaderUpstreamURI); u != "/orders/a%2Fb?q=a+b&t=%7Benv.HOME%7D" {
		t.Errorf("upstream URI %q", u)
	}
	// x-appauthz-app-id is set, so it is never listed for removal.
	if rm := resp.Header.Get(HeaderToRemove); rm != "x-app-key,x_appauthz_key" {
		t.Errorf("headers to remove %q", rm)
	}
	if resp.Header.Get("X-Appauthz-App-Id") != "a1" || resp.Header.Get("X-Appauthz-Api") != "orders" {
		t.Errorf("identity headers %v", resp.Header)
	}
}

// TestForwardRefused: a description of the original request from a peer
// outside --trusted-proxies, or one that is malformed, is a 400 deny and
// never reaches the core.
func TestForwardRefused(t *testing.T) {
	cases := map[string]struct {
		peer    string
		headers map[string]string
		msg     string
	}{
		"untrusted peer":      {"192.0.2.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/"}, "--trusted-proxies"},
		"no method":           {"10.0.0.1:1", map[string]string{"X-Forwarded-Uri": "/"}, "X-Forwarded-Method"},
		"no URI":              {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET"}, "X-Forwarded-Uri"},
		"absolute URI":        {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "http://x/"}, "origin form"},
		"method not a token":  {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GE T", "X-Forwarded-Uri": "/"}, "token"},
		"URI with a space":    {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/a b"}, "control"},
		"proto not http(s)":   {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/", "X-Forwarded-Proto": "gopher"}, "malformed"},
		"URI over 8 KiB":      {"10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/" + strings.Repeat("a", 8<<10)}, "8 KiB"},
		"unparsable peer":     {"nonsense", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/"}, "--trusted-proxies"},
		"trusted but spoofed": {"192.0.2.1:1", map[string]string{"X-Original-Method": "GET", "X-Original-URI": "/", "X-Forwarded-For": "10.0.0.1"}, "--trusted-proxies"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://authzd/auth", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			h, rec := newTestHandler(allowed())
			resp := serve(h, r)
			if rec.got != nil {
				t.Fatalf("the core was asked about %+v", rec.got)
			}
			body := wantDeny(t, resp, 400, authz.ReasonBadRequest)
			if !strings.Contains(body.Message, tc.msg) {
				t.Errorf("message %q does not mention %q", body.Message, tc.msg)
			}
		})
	}
}

func TestEnvoyRequest(t *testing.T) {
	cases := map[string]struct {
		peer    string
		api     map[string]string // the Context the core gets
		keepAPI bool              // x-appauthz-api left in the headers
	}{
		// Envoy passes client headers through: never believed there.
		"trusted Envoy":  {"10.0.0.5:1", nil, true},
		"untrusted peer": {"192.0.2.5:1", nil, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://api.example.com/envoy/orders?sign=s&x=1", strings.NewReader(`{"a":1}`))
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Appauthz-Api", "orders")
			r.Header.Set("Authorization", "hmac x")
			h, rec := newTestHandler(allowed())
			resp := serve(h, r)
			got := rec.got
			if got == nil {
				t.Fatal("the decider was not asked")
			}
			if got.Method != "POST" || got.Path != "/orders" || got.RawQuery != "sign=s&x=1" || got.Host != "api.example.com" || string(got.Body) != `{"a":1}` {
				t.Errorf("request %+v body %q", got, got.Body)
			}
			if !maps.Equal(got.Context, tc.api) {
				t.Errorf("context %v, want %v", got.Context, tc.api)
			}
			if _, kept := got.Headers["x-appauthz-api"]; kept != tc.keepAPI {
				t.Errorf("x-appauthz-api in headers: %v, want %v", kept, tc.keepAPI)
			}
			if got.Headers["authorization"] != "hmac x" {
				t.Errorf("headers %v", got.Headers)
			}
			if resp.StatusCode != 200 || resp.Header.Get(HeaderUpstreamURI) != "/orders?sign=s&x=1" {
				t.Errorf("status %d, upstream URI %q", resp.StatusCode, resp.Header.Get(HeaderUpstreamURI))
			}
		})
	}
}

func TestEnvoyBodyTooLarge(t *testing.T) {
	for name, body := range map[string]io.Reader{
		"declared": strings.NewReader(strings.Repeat("a", 65)),
		"chunked":  io.MultiReader(strings.NewReader(strings.Repeat("a", 65))),
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://h/envoy/x", body)
			if name == "chunked" {
				r.ContentLength = -1
				r.TransferEncoding = []string{"chunked"}
			}
			h, rec := newTestHandler(allowed())
			wantDeny(t, serve(h, r), 413, authz.ReasonBodyTooLarge)
			if rec.got != nil {
				t.Error("the core was asked")
			}
		})
	}
}

func TestNotAnEndpoint(t *testing.T) {
	for _, path := range []string{"/", "/envoyx", "/auth/x", "/healthz"} {
		h, rec := newTestHandler(allowed())
		resp := serve(h, httptest.NewRequest("GET", "http://h"+path, nil))
		if resp.StatusCode != 404 || rec.got != nil {
			t.Errorf("%s: status %d, asked %v", path, resp.StatusCode, rec.got != nil)
		}
	}
}

// TestDeny: the answer to a deny is the gRPC path's local reply: status,
// x-appauthz-error, the JSON body, www-authenticate on 401s, the
// decision's response headers.
func TestDeny(t *testing.T) {
	cases := map[string]struct {
		d         authz.Decision
		status    int
		reason    authz.Reason
		challenge string
		extra     [2]string
	}{
		"401 with the core's challenge": {authz.Decision{Reason: authz.ReasonInvalidSignature, Message: "m", ResponseHeaders: []authz.HeaderValue{{Name: "www-authenticate", Value: "hmac x"}}}, 401, authz.ReasonInvalidSignature, "hmac x", [2]string{}},
		"401 without one":               {authz.Decision{Reason: authz.ReasonUnknownAppKey}, 401, authz.ReasonUnknownAppKey, defaultChallenge, [2]string{}},
		"403":                           {authz.Decision{Reason: authz.ReasonNotAuthorized}, 403, authz.ReasonNotAuthorized, "", [2]string{}},
		"429 with retry-after":          {authz.Decision{Reason: authz.ReasonRateLimited, ResponseHeaders: []authz.HeaderValue{{Name: "retry-after", Value: "3"}, {Name: "x-appauthz-error", Value: "spoof"}}}, 429, authz.ReasonRateLimited, "", [2]string{"Retry-After", "3"}},
		"503":                           {authz.Decision{Reason: authz.ReasonStoreUnavailable}, 503, authz.ReasonStoreUnavailable, "", [2]string{}},
		"no reason is still a deny":     {authz.Decision{}, 403, authz.ReasonNotAuthorized, "", [2]string{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://h/envoy/x", nil)
			h, _ := newTestHandler(tc.d)
			resp := serve(h, r)
			body := wantDeny(t, resp, tc.status, tc.reason)
			if body.Message == "" {
				t.Error("empty message")
			}
			if got := resp.Header.Get("Www-Authenticate"); got != tc.challenge {
				t.Errorf("www-authenticate %q, want %q", got, tc.challenge)
			}
			if tc.extra[0] != "" && resp.Header.Get(tc.extra[0]) != tc.extra[1] {
				t.Errorf("%s = %q", tc.extra[0], resp.Header.Get(tc.extra[0]))
			}
			if resp.Header.Get(HeaderUpstreamURI) != "" || resp.Header.Get("X-Appauthz-App-Id") != "" {
				t.Error("a deny carries allow headers")
			}
		})
	}
}

func wantDeny(t *testing.T, resp *http.Response, status int, reason authz.Reason) denyBody {
	t.Helper()
	var body denyBody
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", raw, err)
	}
	if resp.StatusCode != status || body.Code != string(reason) || resp.Header.Get("X-Appauthz-Error") != string(reason) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, body %s, headers %v; want %d %s", resp.StatusCode, raw, resp.Header, status, reason)
	}
	return body
}

// TestDeadline: a proxy that gave up while the core decided gets a 503,
// never the allow the core computed.
func TestDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "http://h/envoy/x", nil).WithContext(ctx)
	h, _ := newTestHandler(allowed())
	wantDeny(t, serve(h, r), 503, authz.ReasonStoreUnavailable)
}

// TestAuthRequestMode: for nginx auth_request (which passes only 401/403
// and no body) a deny carries its real status and JSON body in headers,
// and any status but 401/403 is answered 403. Only a trusted proxy's
// request is answered that way.
func TestAuthRequestMode(t *testing.T) {
	cases := map[string]struct {
		peer       string
		reason     authz.Reason
		wire, real int
	}{
		"429 as 403":      {"10.0.0.1:1", authz.ReasonRateLimited, 403, 429},
		"503 as 403":      {"10.0.0.1:1", authz.ReasonStoreUnavailable, 403, 503},
		"401 stays":       {"10.0.0.1:1", authz.ReasonUnknownAppKey, 401, 401},
		"untrusted: 400 ": {"192.0.2.1:1", authz.ReasonRateLimited, 400, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://authzd/auth", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Original-Method", "GET")
			r.Header.Set("X-Original-URI", "/x")
			r.Header.Set("X-Appauthz-Auth-Request", "on")
			h, _ := newTestHandler(authz.Decision{Reason: tc.reason})
			resp := serve(h, r)
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wire {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.wire, raw)
			}
			if tc.real == 0 {
				if resp.Header.Get(HeaderStatus) != "" || resp.Header.Get(HeaderDenyBody) != "" {
					t.Error("an untrusted peer got the auth_request headers")
				}
				return
			}
			if got := resp.Header.Get(HeaderStatus); got != strconv.Itoa(tc.real) {
				t.Errorf("%s = %q, want %d", HeaderStatus, got, tc.real)
			}
			if got := resp.Header.Get(HeaderDenyBody); got != string(raw) || !strings.Contains(got, string(tc.reason)) {
				t.Errorf("%s = %q, body %q", HeaderDenyBody, got, raw)
			}
		})
	}
}

// TestMetrics: each decision is counted by endpoint, result and reason.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := New(&recorder{d: allowed()}, WithTrustedProxies(proxies), WithRegisterer(reg), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	serve(h, httptest.NewRequest("GET", "http://h/envoy/x", nil))
	r := httptest.NewRequest("GET", "http://h/auth", nil)
	r.RemoteAddr = "192.0.2.1:1" // untrusted: refused
	serve(h, r)
	want := `
# HELP appauthz_http_checks_total HTTP authorization requests (forward auth, Envoy http_service) by endpoint, result and reason code.
# TYPE appauthz_http_checks_total counter
appauthz_http_checks_total{endpoint="envoy",reason="OK",result="allow"} 1
appauthz_http_checks_total{endpoint="forward",reason="BadRequest",result="deny"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "appauthz_http_checks_total"); err != nil {
		t.Error(err)
	}
	if _, err := New(&recorder{}, WithRegisterer(reg)); err == nil {
		t.Error("a second Handler registered the same metrics")
	}
}
