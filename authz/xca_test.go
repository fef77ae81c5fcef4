package authz

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

const (
	xcaKey    = "203753245"
	xcaSecret = "sEcReT-0123456789"
)

// xcaFixture adds xca APIs and a key to the core fixture.
func xcaFixture() *fakeStore {
	f := fixture()
	f.apis["xca"] = &API{ID: "xca", Methods: []Method{MethodXCA}, Access: AccessAuthenticated, ReplayProtection: true}
	f.apis["xca-loose"] = &API{ID: "xca-loose", Methods: []Method{MethodXCA}, Access: AccessAuthenticated,
		XCATimestamp: XCATimestampRequired}
	f.apis["xca-optional"] = &API{ID: "xca-optional", Methods: []Method{MethodXCA}, Access: AccessAuthenticated,
		XCATimestamp: XCATimestampOptional}
	f.apis["xca-nonce"] = &API{ID: "xca-nonce", Methods: []Method{MethodXCA}, Access: AccessAuthenticated, XCANonce: XCANonceRequired}
	f.apis["xca-granted"] = &API{ID: "xca-granted", Methods: []Method{MethodXCA, MethodKey}, Access: AccessAuthorized}
	f.apis["appcode-only"] = &API{ID: "appcode-only", Methods: []Method{MethodAppCode}, AppCodeMode: AppCodeHeader, Access: AccessAuthorized}
	f.grant("xca-granted", "TEST", "app1", &Grant{})
	f.grant("appcode-only", "TEST", "app1", &Grant{})
	f.keys[xcaKey] = &Key{KeyID: "kid_xca", AppID: "app1", Secret: xcaSecret, Status: StatusActive}
	f.keys["xca-hmac-only"] = &Key{KeyID: "kid_xh", AppID: "app1", Secret: xcaSecret, Status: StatusActive, Methods: []Method{MethodHMAC}}
	f.keys["xca-off"] = &Key{KeyID: "kid_off", AppID: "app1", Secret: xcaSecret, Status: StatusDisabled}
	return f
}

// xcaSigned builds the Request Envoy reports for a request signed by s.
func xcaSigned(t testing.TB, s sign.XCA, method, uri string, body []byte, extra map[string]string, ctx map[string]string) *Request {
	t.Helper()
	hdr := http.Header{}
	for k, v := range extra {
		hdr.Set(k, v)
	}
	if s.Key == "" {
		s.Key, s.Secret = xcaKey, xcaSecret
	}
	if s.Now.IsZero() {
		s.Now = testNow
	}
	h, err := s.Sign(sign.XCARequest{Method: method, RequestURI: uri, Header: hdr, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	h.Apply(hdr)
	r := req(method, uri, lowerHeaders(hdr), ctx)
	r.Body = body
	if len(body) > 0 {
		r.Headers["content-length"] = strconv.Itoa(len(body))
	}
	r.RequestID = "req-7"
	return r
}

// hmacB64 signs sts independently of the code under test.
func hmacB64(secret, sts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestXCAStringToSign(t *testing.T) {
	base := func(hdr map[string]string) map[string]string {
		h := map[string]string{"accept": "application/json"}
		for k, v := range hdr {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name   string
		method string
		uri    string
		hdr    map[string]string
		list   string
		body   string
		want   string
	}{
		{"no parameters: no ?", "GET", "/demo", base(nil), "",
			"", "GET\napplication/json\n\n\n\n/demo"},
		{"every fixed line, empty ones kept", "POST", "/d", map[string]string{"content-md5": "MD5", "content-type": "text/plain", "date": "D"}, "",
			"x", "POST\n\nMD5\ntext/plain\nD\n/d"},
		{"names signed as spelled, sorted in byte order", "GET", "/d", base(map[string]string{"x-ca-key": "k", "x-ca-timestamp": "1", "a-custom": "v"}),
			"X-Ca-Timestamp,X-Ca-Key,a-custom", "",
			"GET\napplication/json\n\n\n\nX-Ca-Key:k\nX-Ca-Timestamp:1\na-custom:v\n/d"},
		{"Node spelling kept lower case", "GET", "/d", base(map[string]string{"x-ca-key": "k"}), "x-ca-key", "",
			"GET\napplication/json\n\n\n\nx-ca-key:k\n/d"},
		{"absent listed header signs as name:", "GET", "/d", base(nil), "X-Missing", "",
			"GET\napplication/json\n\n\n\nX-Missing:\n/d"},
		{"fixed lines and signature headers are not listed again", "GET", "/d", base(map[string]string{"x-ca-key": "k"}),
			"Accept, Content-MD5,content-type,DATE,X-Ca-Signature,x-ca-signature-headers,X-Ca-Key", "",
			"GET\napplication/json\n\n\n\nX-Ca-Key:k\n/d"},
		{"spaces and empty names in the list", "GET", "/d", base(map[string]string{"x-ca-key": "k"}), " X-Ca-Key ,, ", "",
			"GET\napplication/json\n\n\n\nX-Ca-Key:k\n/d"},
		{"host comes from :authority", "GET", "/d", base(nil), "Host", "",
			"GET\napplication/json\n\n\n\nHost:api.example.com\n/d"},
		{"query sorted and decoded, path as sent", "GET", "/a%2Fb/c?z=1&b=x+y&a=%E4%B8%AD", base(nil), "", "",
			"GET\napplication/json\n\n\n\n/a%2Fb/c?a=中&b=x y&z=1"},
		{"empty value signs the key alone", "GET", "/d?e=&f&g=1", base(nil), "", "",
			"GET\napplication/json\n\n\n\n/d?e&f&g=1"},
		{"first value of a repeated key wins", "GET", "/d?a=2&a=1", base(nil), "", "",
			"GET\napplication/json\n\n\n\n/d?a=2"},
		{"empty name left out", "GET", "/d?=x&a=1", base(nil), "", "",
			"GET\napplication/json\n\n\n\n/d?a=1"},
		{"only an empty name: no ?", "GET", "/d?=x", base(nil), "", "",
			"GET\napplication/json\n\n\n\n/d"},
		{"form fields merged with the query, form value wins", "POST", "/d?b=q&a=q", base(map[string]string{"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}), "",
			"a=form+v&c=%21&a=second",
			"POST\napplication/json\n\napplication/x-www-form-urlencoded; charset=UTF-8\n\n/d?a=form v&b=q&c=!"},
		{"a JSON body adds no parameters", "POST", "/d?b=1", base(map[string]string{"content-type": "application/json"}), "",
			`{"a":1}`, "POST\napplication/json\n\napplication/json\n\n/d?b=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req(tt.method, tt.uri, tt.hdr, nil)
			r.Body = []byte(tt.body)
			q, err := ParseQuery(r.RawQuery)
			if err != nil {
				t.Fatal(err)
			}
			var form []QueryParam
			if strings.HasPrefix(tt.hdr["content-type"], contentForm) {
				form, _ = parsePairs(tt.body)
			}
			signed, ok := xcaSignedHeaderList(tt.list)
			if !ok {
				t.Fatal("list refused")
			}
			if got := string(xcaStringToSign(r, signed, q, form)); got != tt.want {
				t.Fatalf("string to sign\n got %q\nwant %q", got, tt.want)
			}
			// The Go signer builds the same PathAndParameters.
			sq, _ := decodeForTest(r.RawQuery)
			sf, _ := decodeForTest(string(form2raw(tt.hdr, tt.body)))
			if got, want := sign.PathAndParameters(r.Path, sq, sf), tt.want[strings.LastIndexByte(tt.want, '\n')+1:]; got != want {
				t.Fatalf("sign.PathAndParameters = %q, want %q", got, want)
			}
		})
	}
}

func decodeForTest(raw string) ([]sign.Param, error) {
	ps, err := parsePairs(raw)
	out := make([]sign.Param, len(ps))
	for i, p := range ps {
		out[i] = sign.Param{Name: p.Name, Value: p.Value}
	}
	return out, err
}

func form2raw(hdr map[string]string, body string) string {
	if strings.HasPrefix(hdr["content-type"], contentForm) {
		return body
	}
	return ""
}

func TestXCASignedHeaderListBounded(t *testing.T) {
	names := make([]string, maxSignedHeaders+1)
	for i := range names {
		names[i] = "h" + strconv.Itoa(i)
	}
	if _, ok := xcaSignedHeaderList(strings.Join(names, ",")); ok {
		t.Fatalf("%d names accepted, want at most %d", len(names), maxSignedHeaders)
	}
	if _, ok := xcaSignedHeaderList(strings.Join(names[1:], ",")); !ok {
		t.Fatalf("%d names refused", maxSignedHeaders)
	}
}

// TestXCANodeSDKVector checks a request signed by the aliyun-api-gateway
// npm package (1.1.6, Client.buildStringToSign and Client.sign with these
// inputs): a form POST whose signed header names are lower case.
func TestXCANodeSDKVector(t *testing.T) {
	const (
		wantSTS = "POST\napplication/json\n\napplication/x-www-form-urlencoded; charset=UTF-8\n\nx-ca-key:203753245\nx-ca-nonce:c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44\nx-ca-stage:RELEASE\nx-ca-timestamp:1498165956000\n/demo/post?a=form a&b=2&c=x y&e"
		wantSig = "wOsz1ZQGU+1GGT5pi7rsyPAmPBmCem9QF+isned4gjM="
	)
	if got := hmacB64(xcaSecret, wantSTS); got != wantSig {
		t.Fatalf("vector broken: %s", got)
	}
	body := []byte("a=form%20a&c=x%20y")
	r := req("POST", "/demo/post?b=2&a=1&e=", map[string]string{
		"x-ca-timestamp": "1498165956000", "x-ca-key": xcaKey, "x-ca-nonce": "c9f15cbf-f4ac-4a6c-b54d-f51abf4b5b44",
		"x-ca-stage": "RELEASE", "accept": "application/json", "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
		"x-ca-signature-headers": "x-ca-key,x-ca-nonce,x-ca-stage,x-ca-timestamp", "x-ca-signature": wantSig,
		"content-length": strconv.Itoa(len(body)),
	}, api("xca"))
	r.Body = body
	now := time.UnixMilli(1498165956000).Add(3 * time.Minute)
	d := sigEngine(xcaFixture(), now).Check(context.Background(), r)
	if !d.Allow {
		t.Fatalf("denied %s: %s %v", d.Reason, d.Message, d.ResponseHeaders)
	}
}

func TestXCACheck(t *testing.T) {
	type mod func(r *Request)
	set := func(k, v string) mod { return func(r *Request) { r.Headers[k] = v } }
	del := func(k string) mod { return func(r *Request) { delete(r.Headers, k) } }
	jsonBody := []byte(`{"name":"bob"}`)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name   string
		s      sign.XCA
		method string
		uri    string
		body   []byte
		hdr    map[string]string
		ctx    map[string]string
		mod    mod
		at     time.Time // server time; zero is testNow
		reason Reason
		caMsg  string // prefix of X-Ca-Error-Message on deny
	}{
		{name: "GET", method: "GET", uri: "/orders?id=7&q=a+b", reason: ReasonOK},
		{name: "HmacSHA1", s: sign.XCA{Algorithm: "HmacSHA1"}, method: "GET", uri: "/o", reason: ReasonOK},
		{name: "algorithm name case-insensitive", method: "GET", uri: "/o", mod: func(r *Request) {
			// re-sign by hand with SHA-1 under a lower-case method name
			r.Headers["x-ca-signature-method"] = "hmacsha1"
			sts := string(mustSTS(r))
			m := hmac.New(sha1.New, []byte(xcaSecret))
			m.Write([]byte(sts))
			r.Headers["x-ca-signature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}, reason: ReasonOK},
		{name: "unknown algorithm", s: sign.XCA{Algorithm: "HmacSHA1"}, method: "GET", uri: "/o", mod: set("x-ca-signature-method", "HmacMD5"),
			reason: ReasonUnsupportedAlgorithm, caMsg: "Invalid Signature Method"},
		{name: "POST form", method: "POST", uri: "/orders?x=1", body: []byte("name=bob+smith&x=2"), hdr: form, reason: ReasonOK},
		{name: "POST form field tampered", method: "POST", uri: "/orders", body: []byte("name=bob"), hdr: form,
			mod: func(r *Request) { r.Body = []byte("name=eve") }, reason: ReasonInvalidSignature, caMsg: "Invalid Signature, Server StringToSign:`POST#"},
		{name: "POST form with a malformed field", method: "POST", uri: "/orders", body: []byte("name=bob"), hdr: form,
			mod: func(r *Request) { r.Body = []byte("name=%zz") }, reason: ReasonBadRequest},
		{name: "POST JSON with Content-MD5", method: "POST", uri: "/orders", body: jsonBody, hdr: map[string]string{"Content-Type": "application/json"}, reason: ReasonOK},
		{name: "JSON body changed under a signed MD5", method: "POST", uri: "/orders", body: jsonBody, hdr: map[string]string{"Content-Type": "application/json"},
			mod: func(r *Request) { r.Body = []byte(`{"name":"eve"}`) }, reason: ReasonDigestMismatch, caMsg: "Invalid Content-MD5"},
		{name: "Content-MD5 with an empty body", method: "POST", uri: "/orders", hdr: map[string]string{"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
			reason: ReasonDigestMismatch, caMsg: "Invalid Content-MD5"},
		{name: "declared body the proxy did not send", method: "POST", uri: "/orders", body: jsonBody, hdr: map[string]string{"Content-Type": "application/json"},
			mod: func(r *Request) { r.Body = nil }, reason: ReasonBadRequest},
		{name: "truncated body with Content-MD5", method: "POST", uri: "/orders", body: jsonBody, hdr: map[string]string{"Content-Type": "application/json"},
			mod: func(r *Request) { r.BodyTruncated = true }, reason: ReasonBodyTooLarge},
		{name: "PUT without Content-MD5 (Node SDK)", method: "PUT", uri: "/orders/7", body: jsonBody, hdr: map[string]string{"Content-Type": "application/json"},
			mod: del("content-md5"), reason: ReasonInvalidSignature},
		{name: "DELETE", method: "DELETE", uri: "/orders/7", reason: ReasonOK},
		{name: "custom signed header", s: sign.XCA{SignHeaders: []string{"X-Tenant"}}, method: "GET", uri: "/o", hdr: map[string]string{"X-Tenant": "t1"}, reason: ReasonOK},
		{name: "custom signed header changed", s: sign.XCA{SignHeaders: []string{"X-Tenant"}}, method: "GET", uri: "/o", hdr: map[string]string{"X-Tenant": "t1"},
			mod: set("x-tenant", "t2"), reason: ReasonInvalidSignature},
		{name: "custom signed header dropped", s: sign.XCA{SignHeaders: []string{"X-Tenant"}}, method: "GET", uri: "/o", hdr: map[string]string{"X-Tenant": "t1"},
			mod: del("x-tenant"), reason: ReasonInvalidSignature},
		{name: "signed name re-spelled", method: "GET", uri: "/o", mod: func(r *Request) {
			r.Headers["x-ca-signature-headers"] = strings.ToLower(r.Headers["x-ca-signature-headers"])
		}, reason: ReasonInvalidSignature},
		{name: "path changed", method: "GET", uri: "/orders/7", mod: func(r *Request) { r.Path = "/orders/8" }, reason: ReasonInvalidSignature},
		{name: "query changed", method: "GET", uri: "/orders?id=7", mod: func(r *Request) { r.RawQuery = "id=8" }, reason: ReasonInvalidSignature},
		{name: "malformed query escape", method: "GET", uri: "/o?q=50", mod: func(r *Request) { r.RawQuery = "q=50%" }, reason: ReasonBadRequest, caMsg: "Invalid Url"},
		{name: "wrong secret", s: sign.XCA{Key: xcaKey, Secret: "not-the-secret"}, method: "GET", uri: "/o", reason: ReasonInvalidSignature},
		{name: "unknown key", s: sign.XCA{Key: "nobody", Secret: "x"}, method: "GET", uri: "/o", reason: ReasonUnknownAppKey, caMsg: "Invalid AppKey"},
		{name: "key restricted to other methods", s: sign.XCA{Key: "xca-hmac-only", Secret: xcaSecret}, method: "GET", uri: "/o", reason: ReasonUnknownAppKey, caMsg: "Invalid AppKey"},
		{name: "disabled key, after the signature", s: sign.XCA{Key: "xca-off", Secret: xcaSecret}, method: "GET", uri: "/o", reason: ReasonAppDisabled, caMsg: "Unauthorized"},
		{name: "missing signature", method: "GET", uri: "/o", mod: del("x-ca-signature"), reason: ReasonMissingCredential, caMsg: "Empty Signature"},
		{name: "missing key", method: "GET", uri: "/o", mod: del("x-ca-key"), reason: ReasonMissingCredential, caMsg: "Empty AppKey"},
		{name: "no credential", method: "GET", uri: "/o", mod: func(r *Request) {
			for _, h := range xcaCredentialHeaders {
				delete(r.Headers, h)
			}
		}, reason: ReasonMissingCredential, caMsg: "Empty Signature"},
		{name: "non-integer timestamp", method: "GET", uri: "/o", mod: set("x-ca-timestamp", "1498165956.5"), reason: ReasonBadRequest, caMsg: "Invalid Timestamp"},
		{name: "signed timestamp", method: "GET", uri: "/o", mod: set("x-ca-timestamp", "+1498165956"), reason: ReasonBadRequest},
		{name: "timestamp in seconds", method: "GET", uri: "/o", mod: set("x-ca-timestamp", strconv.FormatInt(testNow.Unix(), 10)), reason: ReasonClockSkew},
		{name: "15 minutes old, bound included", method: "GET", uri: "/o", at: testNow.Add(15 * time.Minute), reason: ReasonOK},
		{name: "15 minutes and 1 ms old", method: "GET", uri: "/o", at: testNow.Add(15*time.Minute + time.Millisecond), reason: ReasonClockSkew, caMsg: "Timestamp Expired"},
		{name: "15 minutes ahead", method: "GET", uri: "/o", at: testNow.Add(-15 * time.Minute), reason: ReasonOK},
		{name: "too far ahead", method: "GET", uri: "/o", at: testNow.Add(-16 * time.Minute), reason: ReasonClockSkew},
		{name: "absurd timestamp", method: "GET", uri: "/o", mod: set("x-ca-timestamp", strconv.FormatInt(math.MaxInt64, 10)), reason: ReasonClockSkew},
		{name: "timestamp absent", method: "GET", uri: "/o", mod: del("x-ca-timestamp"), reason: ReasonMissingSignedHeader, caMsg: "Invalid Timestamp"},
		{name: "timestamp unsigned", method: "GET", uri: "/o", mod: unsignTimestamp, reason: ReasonMissingSignedHeader},
		{name: "timestamp unsigned, API accepts it", method: "GET", uri: "/o", ctx: api("xca-loose"), mod: unsignTimestamp, reason: ReasonOK},
		{name: "timestamp absent, API requires it", method: "GET", uri: "/o", ctx: api("xca-loose"), mod: dropTimestamp, reason: ReasonBadRequest},
		{name: "timestamp absent, API optional", method: "GET", uri: "/o", ctx: api("xca-optional"), mod: dropTimestamp, reason: ReasonOK},
		{name: "optional but sent: window applies", method: "GET", uri: "/o", ctx: api("xca-optional"), at: testNow.Add(time.Hour), reason: ReasonClockSkew},
		{name: "nonce absent, API requires it", s: sign.XCA{NoNonce: true}, method: "GET", uri: "/o", ctx: api("xca-nonce"), reason: ReasonBadRequest, caMsg: "Invalid Nonce"},
		{name: "nonce absent, optional (Java demo)", s: sign.XCA{NoNonce: true}, method: "GET", uri: "/o", reason: ReasonOK},
		{name: "header stage names the grant's stage", s: sign.XCA{Stage: "TEST"}, method: "GET", uri: "/o", ctx: api("xca-granted"), reason: ReasonOK},
		{name: "default stage without the header", method: "GET", uri: "/o", ctx: api("xca-granted"), reason: ReasonNotAuthorized, caMsg: "Unauthorized"},
		{name: "route stage wins over the header", s: sign.XCA{Stage: "TEST"}, method: "GET", uri: "/o", ctx: map[string]string{"api": "xca-granted", "stage": "RELEASE"}, reason: ReasonNotAuthorized},
		{name: "bad stage name", s: sign.XCA{Stage: "TE:ST"}, method: "GET", uri: "/o", ctx: api("xca-granted"), reason: ReasonBadRequest, caMsg: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = api("xca")
			}
			r := xcaSigned(t, tt.s, tt.method, tt.uri, tt.body, tt.hdr, ctx)
			if tt.mod != nil {
				tt.mod(r)
			}
			at := tt.at
			if at.IsZero() {
				at = testNow
			}
			d := sigEngine(xcaFixture(), at).Check(context.Background(), r)
			if d.Reason != tt.reason {
				t.Fatalf("reason %s (%s), want %s", d.Reason, d.Message, tt.reason)
			}
			if d.Allow {
				wantStripped(t, d, r)
				return
			}
			got := headerOf(d.ResponseHeaders, HeaderXCAErrorMessage)
			if tt.caMsg == "-" { // refused before the API is known
				return
			}
			if got == "" || !strings.HasPrefix(got, tt.caMsg) {
				t.Fatalf("x-ca-error-message %q, want prefix %q", got, tt.caMsg)
			}
			if id := headerOf(d.ResponseHeaders, HeaderXCARequestID); id != "req-7" {
				t.Fatalf("x-ca-request-id %q, want req-7", id)
			}
		})
	}
}

// unsignTimestamp re-signs r with X-Ca-Timestamp left out of the list, as
// the Java demo does without a sign list.
func unsignTimestamp(r *Request) {
	var kept []string
	for _, n := range strings.Split(r.Headers["x-ca-signature-headers"], ",") {
		if !strings.EqualFold(n, "x-ca-timestamp") {
			kept = append(kept, n)
		}
	}
	r.Headers["x-ca-signature-headers"] = strings.Join(kept, ",")
	r.Headers["x-ca-signature"] = hmacB64(xcaSecret, string(mustSTS(r)))
}

func dropTimestamp(r *Request) {
	unsignTimestamp(r)
	delete(r.Headers, "x-ca-timestamp")
}

// mustSTS is the server's string to sign for r.
func mustSTS(r *Request) []byte {
	q, _ := ParseQuery(r.RawQuery)
	list, _ := xcaSignedHeaderList(r.Headers["x-ca-signature-headers"])
	return xcaStringToSign(r, list, q, nil)
}

func headerOf(hs []HeaderValue, name string) string {
	for _, h := range hs {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// wantStripped checks that an allow removes every X-Ca-* credential header
// the request carried, and keeps X-Ca-Stage.
func wantStripped(t *testing.T, d Decision, r *Request) {
	t.Helper()
	for _, h := range xcaCredentialHeaders {
		if _, sent := r.Headers[h]; sent && !slices.Contains(d.HeadersToRemove, h) {
			t.Fatalf("%s not removed on allow: %v", h, d.HeadersToRemove)
		}
	}
	if slices.Contains(d.HeadersToRemove, "x-ca-stage") {
		t.Fatalf("x-ca-stage removed: %v", d.HeadersToRemove)
	}
	if d.Identity.Method != MethodXCA || headerOf(d.HeadersToSet, HeaderMethod) != "xca" {
		t.Fatalf("identity %+v", d.Identity)
	}
}

// TestXCAHeadersStrippedWhenUnused: X-Ca-* credential headers never reach
// the upstream, even beside another credential on an API without xca.
func TestXCAHeadersStrippedWhenUnused(t *testing.T) {
	r := req("GET", "/x", map[string]string{"x-app-key": "k1", "x-ca-key": "k", "x-ca-signature": "s", "x-ca-nonce": "n", "X-Ca-Timestamp": "1"}, api("keyonly"))
	r.Headers["x-ca-timestamp"] = "1"
	delete(r.Headers, "X-Ca-Timestamp")
	d := sigEngine(xcaFixture(), testNow).Check(context.Background(), r)
	if !d.Allow {
		t.Fatalf("denied %s: %s", d.Reason, d.Message)
	}
	for _, h := range []string{"x-ca-key", "x-ca-signature", "x-ca-nonce", "x-ca-timestamp"} {
		if !slices.Contains(d.HeadersToRemove, h) {
			t.Fatalf("%s kept: %v", h, d.HeadersToRemove)
		}
	}
	if headerOf(d.ResponseHeaders, HeaderXCAErrorMessage) != "" {
		t.Fatal("xca deny header on an allow")
	}
}

// TestXCAStageOnlyForXCA: a stage from X-Ca-Stage must not pick the grant
// of a credential that is not the xca one.
func TestXCAStageOnlyForXCA(t *testing.T) {
	r := req("GET", "/x", map[string]string{"authorization": "APPCODE CODE1", "x-ca-key": xcaKey, "x-ca-signature": "AAAA", "x-ca-stage": "TEST"}, api("appcode-only"))
	d := sigEngine(xcaFixture(), testNow).Check(context.Background(), r)
	if d.Allow || d.Reason != ReasonBadRequest {
		t.Fatalf("got %v %s (%s), want BadRequest", d.Allow, d.Reason, d.Message)
	}
	// Without the xca headers the stage header is not read at all.
	r = req("GET", "/x", map[string]string{"authorization": "APPCODE CODE1", "x-ca-stage": "TEST"}, api("appcode-only"))
	if d = sigEngine(xcaFixture(), testNow).Check(context.Background(), r); d.Reason != ReasonNotAuthorized {
		t.Fatalf("got %s, want NotAuthorized (RELEASE has no grant)", d.Reason)
	}
}

// TestXCANonce: a nonce is claimed only after every other check passed,
// then once; even on an API without replay protection.
func TestXCANonce(t *testing.T) {
	for _, apiID := range []string{"xca", "xca-loose"} { // xca-loose has ReplayProtection off
		t.Run(apiID, func(t *testing.T) {
			f := xcaFixture()
			e := sigEngine(f, testNow)
			s := sign.XCA{Nonce: "n-1"}
			good := xcaSigned(t, s, "GET", "/o", nil, nil, api(apiID))
			forged := xcaSigned(t, sign.XCA{Key: xcaKey, Secret: "wrong", Nonce: "n-1"}, "GET", "/o", nil, nil, api(apiID))
			if d := e.Check(context.Background(), forged); d.Reason != ReasonInvalidSignature {
				t.Fatalf("forged: %s", d.Reason)
			}
			old := xcaSigned(t, sign.XCA{Nonce: "n-1", Now: testNow.Add(-time.Hour)}, "GET", "/o", nil, nil, api(apiID))
			if d := e.Check(context.Background(), old); d.Reason != ReasonClockSkew {
				t.Fatalf("stale: %s", d.Reason)
			}
			if len(f.nonces) != 0 {
				t.Fatalf("a failed check claimed the nonce: %v", f.nonces)
			}
			if d := e.Check(context.Background(), good); !d.Allow {
				t.Fatalf("first use denied %s: %s", d.Reason, d.Message)
			}
			d := e.Check(context.Background(), good)
			if d.Reason != ReasonReplayedRequest || headerOf(d.ResponseHeaders, HeaderXCAErrorMessage) != "Nonce Used" {
				t.Fatalf("replay: %s %v", d.Reason, d.ResponseHeaders)
			}
			// Another app key may use the same nonce: nonces are per key.
			if n1, n2 := signatureNonce("xca", "a", "n"), signatureNonce("xca", "b", "n"); n1 == n2 {
				t.Fatal("nonce not scoped by key")
			}
		})
	}
}

// TestXCAErrorMessageShowsServerString: the mismatch message carries the
// server's string to sign with line feeds as #, and header-safe.
func TestXCAErrorMessageShowsServerString(t *testing.T) {
	r := xcaSigned(t, sign.XCA{Key: xcaKey, Secret: "wrong", Nonce: "n"}, "GET", "/o?a=%0D%0Ab", nil, nil, api("xca"))
	d := sigEngine(xcaFixture(), testNow).Check(context.Background(), r)
	got := headerOf(d.ResponseHeaders, HeaderXCAErrorMessage)
	want := "Invalid Signature, Server StringToSign:`GET#####X-Ca-Key:" + xcaKey + "#X-Ca-Nonce:n#X-Ca-Timestamp:" + strconv.FormatInt(testNow.UnixMilli(), 10) + "#/o?a=%0D#b`"
	if got != want {
		t.Fatalf("x-ca-error-message\n got %q\nwant %q", got, want)
	}
	if strings.Contains(d.Message, "wrong") {
		t.Fatal("message leaks the secret")
	}
}

func TestXCATimestampWindow(t *testing.T) {
	now := testNow
	n := now.UnixMilli()
	skew := 15 * time.Minute
	s := skew.Milliseconds()
	for _, tt := range []struct {
		ms   int64
		want bool
	}{
		{n, true}, {n - s, true}, {n + s, true}, {n - s - 1, false}, {n + s + 1, false},
		{0, false}, {math.MaxInt64, false}, {math.MinInt64, false}, {n / 1000, false},
	} {
		if got := unixMilliWithinWindow(tt.ms, now, skew); got != tt.want {
			t.Errorf("unixMilliWithinWindow(%d) = %v, want %v", tt.ms, got, tt.want)
		}
	}
	if unixMilliWithinWindow(math.MaxInt64, now, time.Duration(math.MaxInt64)) {
		t.Error("an unbounded skew let year 292 million pass")
	}
}

func TestHeaderSafe(t *testing.T) {
	if got := headerSafe("a\nb\r\x00é%", 100); got != "a#b%0D%00%C3%A9%" {
		t.Fatalf("got %q", got)
	}
	if got := headerSafe(strings.Repeat("x", 50), 10); len(got) != 10 || !strings.HasSuffix(got, "...") {
		t.Fatalf("got %q", got)
	}
}

// BenchmarkXCAVerify is an xca Check in the core, beside
// BenchmarkHMACVerify: a JSON body with Content-MD5, and a form body.
func BenchmarkXCAVerify(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		for _, kind := range []string{"json", "form"} {
			b.Run(fmt.Sprintf("%s/body=%dKiB", kind, size>>10), func(b *testing.B) {
				ctype, body := "application/json", bytes.Repeat([]byte("a"), size)
				if kind == "form" {
					ctype, body = contentForm, []byte("a="+strings.Repeat("b", size-2))
				}
				// No nonce: the same request is checked again and again.
				r := xcaSigned(b, sign.XCA{NoNonce: true}, "POST", "/orders?id=7", body, map[string]string{"Content-Type": ctype}, api("xca"))
				e := sigEngine(xcaFixture(), testNow)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if d := e.Check(context.Background(), r); !d.Allow {
						b.Fatal(d.Reason)
					}
				}
			})
		}
	}
}
