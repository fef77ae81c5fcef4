package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// xcaWorld is one app with a key on xca APIs with each policy:
//   - ali: the defaults (timestamp required-signed, nonce optional);
//   - ali-java: --xca-timestamp required (the Java demo's unsigned one);
//   - ali-nonce: --xca-nonce required, 2s window;
//   - ali-staged: a grant on TEST only.
type xcaWorld struct {
	d   *daemon
	url string
}

func newXCAWorld(t *testing.T) *xcaWorld {
	t.Helper()
	url := startRedis(t).URL()
	ctl(t, url, "app", "create", "--name", "Ali", "--id", "ali-app", "--key", sigKey, "--secret", sigSecret)
	// An Alibaba AppKey is short (digits): imported for xca only.
	ctl(t, url, "key", "create", "--app", "ali-app", "--key", aliKey, "--secret", aliSecret, "--methods", "xca")
	api := ctl(t, url, "api", "create", "--id", "ali", "--methods", "xca", "--access", "authenticated")
	if api["clock_skew"] != "15m0s" || api["xca_timestamp"] != "required-signed" || api["xca_nonce"] != "optional" {
		t.Fatalf("xca API defaults: %v", api)
	}
	ctl(t, url, "api", "create", "--id", "ali-java", "--methods", "xca", "--access", "authenticated", "--xca-timestamp", "required")
	ctl(t, url, "api", "create", "--id", "ali-nonce", "--methods", "xca", "--access", "authenticated", "--xca-nonce", "required", "--clock-skew", "2s")
	ctl(t, url, "api", "create", "--id", "ali-staged", "--methods", "xca")
	ctl(t, url, "api", "create", "--id", "ali-any", "--methods", "key,xca", "--access", "authenticated")
	ctl(t, url, "grant", "add", "--api", "ali-staged", "--app", "ali-app", "--stage", "TEST")
	return &xcaWorld{d: startAuthzd(t, url), url: url}
}

// An Alibaba-style AppKey and AppSecret.
const (
	aliKey    = "203753245"
	aliSecret = "sEcReT-0123456789abcdef"
)

// xcaReq builds a request signed as Alibaba's SDKs sign it.
func xcaReq(t *testing.T, s sign.XCA, method, rawURL string, body []byte, header ...string) extauthz.HTTPRequest {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	if s.Key == "" {
		s.Key, s.Secret = sigKey, sigSecret
	}
	uri := rawURL[strings.Index(rawURL[len("http://"):], "/")+len("http://"):]
	signed, err := s.Sign(sign.XCARequest{Method: method, RequestURI: uri, Header: h, Body: body})
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	signed.Apply(h)
	return extauthz.HTTPRequest{Method: method, URL: rawURL, Header: h, Body: body}
}

func TestXCAEndToEnd(t *testing.T) {
	w := newXCAWorld(t)
	d := w.d
	ok := func(t *testing.T, r extauthz.HTTPRequest, api string) *outcome {
		t.Helper()
		o := d.check(t, withAPI(r, api))
		o.wantAllow(t, "ali-app")
		if o.set["x-appauthz-method"] != "xca" || !strings.HasPrefix(o.set["x-appauthz-key"], "kid_") {
			t.Fatalf("identity headers %v", o.set)
		}
		for name := range r.Header {
			l := strings.ToLower(name)
			if strings.HasPrefix(l, "x-ca-") && l != "x-ca-stage" && !slices.Contains(o.removed, l) {
				t.Fatalf("%s reaches the upstream: removed %v", l, o.removed)
			}
		}
		return o
	}
	caMsg := func(t *testing.T, o *outcome, prefix string) {
		t.Helper()
		if v := o.denyHeader["x-ca-error-message"]; len(v) != 1 || !strings.HasPrefix(v[0], prefix) {
			t.Fatalf("x-ca-error-message %v, want prefix %q", v, prefix)
		}
		if v := o.denyHeader["x-ca-request-id"]; len(v) != 1 || v[0] != "rid-1" {
			t.Fatalf("x-ca-request-id %v, want Envoy's x-request-id", v)
		}
	}
	const form = "application/x-www-form-urlencoded; charset=UTF-8"

	t.Run("GET", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{}, "GET", "http://api.example.com/orders?id=7&q=a+b&e=", nil), "ali")
	})
	t.Run("POST form", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{}, "POST", "http://api.example.com/orders?a=q", []byte("a=form&name=bob+smith"), "Content-Type", form), "ali")
	})
	t.Run("POST JSON", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{}, "POST", "http://api.example.com/orders", []byte(`{"name":"bob"}`), "Content-Type", "application/json", "Accept", "application/json"), "ali")
	})
	t.Run("PUT", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{Algorithm: "HmacSHA1"}, "PUT", "http://api.example.com/orders/7", []byte(`{"name":"eve"}`), "Content-Type", "application/json"), "ali")
	})
	t.Run("DELETE", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{}, "DELETE", "http://api.example.com/orders/7", nil), "ali")
	})
	t.Run("custom signed headers", func(t *testing.T) {
		s := sign.XCA{SignHeaders: []string{"X-Tenant", "x-trace"}}
		r := xcaReq(t, s, "GET", "http://api.example.com/orders", nil, "X-Tenant", "t1", "X-Trace", "abc")
		ok(t, r, "ali")
		r.Header.Set("X-Tenant", "t2")
		r.Header.Set("X-Request-Id", "rid-1")
		o := d.check(t, withAPI(r, "ali"))
		o.wantDeny(t, 401, "InvalidSignature")
		caMsg(t, o, "Invalid Signature, Server StringToSign:`GET#")
		if !strings.Contains(o.denyHeader["x-ca-error-message"][0], "#X-Tenant:t2#x-trace:abc#/orders`") {
			t.Fatalf("server string to sign not shown as signed: %v", o.denyHeader["x-ca-error-message"])
		}
	})
	t.Run("Content-MD5 mismatch", func(t *testing.T) {
		r := xcaReq(t, sign.XCA{}, "POST", "http://api.example.com/orders", []byte(`{"a":1}`), "Content-Type", "application/json", "X-Request-Id", "rid-1")
		r.Body = []byte(`{"a":2}`)
		o := d.check(t, withAPI(r, "ali"))
		o.wantDeny(t, 401, "DigestMismatch")
		caMsg(t, o, "Invalid Content-MD5")
	})
	t.Run("replay", func(t *testing.T) {
		r := xcaReq(t, sign.XCA{}, "GET", "http://api.example.com/orders", nil, "X-Request-Id", "rid-1")
		ok(t, r, "ali")
		o := d.check(t, withAPI(r, "ali"))
		o.wantDeny(t, 401, "ReplayedRequest")
		caMsg(t, o, "Nonce Used")
	})
	t.Run("forged request does not burn the nonce", func(t *testing.T) {
		forged := xcaReq(t, sign.XCA{Key: sigKey, Secret: "not-the-secret-at-all", Nonce: "n-forged"}, "GET", "http://api.example.com/orders", nil)
		d.check(t, withAPI(forged, "ali")).wantDeny(t, 401, "InvalidSignature")
		ok(t, xcaReq(t, sign.XCA{Nonce: "n-forged"}, "GET", "http://api.example.com/orders", nil), "ali")
	})
	t.Run("skew", func(t *testing.T) {
		r := xcaReq(t, sign.XCA{Now: time.Now().Add(-16 * time.Minute)}, "GET", "http://api.example.com/orders", nil, "X-Request-Id", "rid-1")
		o := d.check(t, withAPI(r, "ali"))
		o.wantDeny(t, 401, "ClockSkew")
		caMsg(t, o, "Timestamp Expired")
		ok(t, xcaReq(t, sign.XCA{Now: time.Now().Add(-14 * time.Minute)}, "GET", "http://api.example.com/orders", nil), "ali")
		// --clock-skew 2s narrows the window.
		d.check(t, withAPI(xcaReq(t, sign.XCA{Now: time.Now().Add(-time.Minute)}, "GET", "http://api.example.com/orders", nil), "ali-nonce")).wantDeny(t, 401, "ClockSkew")
	})
	t.Run("non-integer timestamp", func(t *testing.T) {
		r := xcaReq(t, sign.XCA{}, "GET", "http://api.example.com/orders", nil, "X-Request-Id", "rid-1")
		r.Header.Set("X-Ca-Timestamp", "2017-06-22T21:12:36Z")
		o := d.check(t, withAPI(r, "ali"))
		o.wantDeny(t, 400, "BadRequest")
		caMsg(t, o, "Invalid Timestamp")
	})
	t.Run("timestamp policies", func(t *testing.T) {
		// The Java demo without a sign list: timestamp sent, not signed.
		r := xcaReq(t, sign.XCA{NoNonce: true}, "GET", "http://api.example.com/orders", nil)
		list := strings.Split(r.Header.Get("X-Ca-Signature-Headers"), ",")
		list = slices.DeleteFunc(list, func(s string) bool { return s == "X-Ca-Timestamp" })
		r.Header.Set("X-Ca-Signature-Headers", strings.Join(list, ","))
		r = resignXCA(t, r)
		d.check(t, withAPI(r, "ali")).wantDeny(t, 401, "MissingSignedHeader")
		ok(t, r, "ali-java")
	})
	t.Run("nonce required", func(t *testing.T) {
		d.check(t, withAPI(xcaReq(t, sign.XCA{NoNonce: true}, "GET", "http://api.example.com/orders", nil), "ali-nonce")).wantDeny(t, 400, "BadRequest")
		ok(t, xcaReq(t, sign.XCA{}, "GET", "http://api.example.com/orders", nil), "ali-nonce")
	})
	t.Run("imported Alibaba AppKey", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{Key: aliKey, Secret: aliSecret}, "GET", "http://api.example.com/orders", nil), "ali")
		// Restricted to xca, it is not a bare key elsewhere.
		o := d.check(t, withAPI(get("http://api.example.com/orders", "X-App-Key", aliKey), "ali-any"))
		o.wantDeny(t, 401, "UnknownAppKey")
	})
	t.Run("unknown key", func(t *testing.T) {
		o := d.check(t, withAPI(xcaReq(t, sign.XCA{Key: "nobody", Secret: "x"}, "GET", "http://api.example.com/orders", nil, "X-Request-Id", "rid-1"), "ali"))
		o.wantDeny(t, 401, "UnknownAppKey")
		caMsg(t, o, "Invalid AppKey")
	})
	t.Run("stage header vs route stage", func(t *testing.T) {
		ok(t, xcaReq(t, sign.XCA{Stage: "TEST"}, "GET", "http://api.example.com/orders", nil), "ali-staged")
		d.check(t, withAPI(xcaReq(t, sign.XCA{}, "GET", "http://api.example.com/orders", nil), "ali-staged")).wantDeny(t, 403, "NotAuthorized")
		// The route's stage wins over the client's header.
		r := xcaReq(t, sign.XCA{Stage: "TEST"}, "GET", "http://api.example.com/orders", nil, "X-Request-Id", "rid-1")
		o := d.check(t, withAPI(r, "ali-staged", "RELEASE"))
		o.wantDeny(t, 403, "NotAuthorized")
		caMsg(t, o, "Unauthorized")
	})
}

// resignXCA signs r again after its X-Ca-Signature-Headers were edited,
// for clients whose list differs from the Go signer's.
func resignXCA(t *testing.T, r extauthz.HTTPRequest) extauthz.HTTPRequest {
	t.Helper()
	list := strings.Split(r.Header.Get("X-Ca-Signature-Headers"), ",")
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	for _, h := range []string{"Accept", "Content-MD5", "Content-Type", "Date"} {
		b.WriteString(r.Header.Get(h) + "\n")
	}
	for _, n := range list {
		b.WriteString(n + ":" + r.Header.Get(n) + "\n")
	}
	uri := r.URL[strings.Index(r.URL[len("http://"):], "/")+len("http://"):]
	path, rawQuery, _ := strings.Cut(uri, "?")
	var q []sign.Param
	for _, kv := range strings.Split(rawQuery, "&") {
		if n, v, _ := strings.Cut(kv, "="); n != "" {
			q = append(q, sign.Param{Name: n, Value: v})
		}
	}
	b.WriteString(sign.PathAndParameters(path, q, nil))
	r.Header.Set("X-Ca-Signature", hmacSHA256B64(sigSecret, b.String()))
	return r
}

func hmacSHA256B64(secret, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
