package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

// The seed's GET example (Kong's documentation vector).
const (
	seedKey    = "wsK8t77fvAAs3i7878NSkC0j95ib3oVu"
	seedSecret = "qdWre3pJxitNm9NOBRH3EpWeVYepnt3f"
	seedDate   = "Thu, 22 Jun 2017 21:12:36 GMT"
	seedAuth   = `hmac appkey="wsK8t77fvAAs3i7878NSkC0j95ib3oVu", algorithm="hmac-sha256", headers="date host request-line", signature="FiPTWoayUGvlaAk6HbnxEzlXo0JO2HhiDGEwsR4yKPo="`
)

// sigFixture adds signature APIs and keys to the core fixture.
func sigFixture() *fakeStore {
	f := fixture()
	f.apis["sig"] = &API{ID: "sig", Methods: []Method{MethodHMAC, MethodParamSign}, Access: AccessAuthenticated, ReplayProtection: true}
	f.apis["sig-norelay"] = &API{ID: "sig-norelay", Methods: []Method{MethodHMAC, MethodParamSign}, Access: AccessAuthenticated}
	f.apis["sig-strict"] = &API{ID: "sig-strict", Methods: []Method{MethodHMAC, MethodParamSign}, Access: AccessAuthenticated, ReplayProtection: true,
		HMACAlgorithms: []string{"hmac-sha512"}, EnforceHeaders: []string{"date", "request-line", "x-request-id"}, ClockSkew: 30 * time.Second, TimestampRequired: true}
	f.apis["sig-or-key"] = &API{ID: "sig-or-key", Methods: []Method{MethodHMAC, MethodParamSign, MethodKey}, Access: AccessAuthenticated}
	f.keys[seedKey] = &Key{KeyID: "kid_seed", AppID: "app1", Secret: seedSecret, Status: StatusActive}
	f.keys["foobar"] = &Key{KeyID: "kid_foobar", AppID: "app1", Secret: "my.secret", Status: StatusActive}
	return f
}

func sigEngine(f *fakeStore, now time.Time) *Engine {
	return NewEngine(f, WithClock(func() time.Time { return now }))
}

// hmacReq builds the Request Envoy would report for a request signed by
// s, with extra headers; the request-line is signed as HTTP/1.1.
func hmacReq(t testing.TB, s sign.HMAC, method, uri string, body []byte, extra map[string]string) *Request {
	t.Helper()
	hdr := http.Header{}
	for k, v := range extra {
		hdr.Set(k, v)
	}
	h, err := s.Sign(sign.HMACRequest{Method: method, RequestURI: uri, Host: "api.example.com", Header: hdr, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	h.Apply(hdr)
	r := req(method, uri, lowerHeaders(hdr), api("sig"))
	r.Protocol, r.Body = "HTTP/1.1", body
	return r
}

func lowerHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out
}

func TestHMACSeedVector(t *testing.T) {
	r := &Request{Method: "GET", Host: "hmac.com", Path: "/requests", RawQuery: "name=bob", Protocol: "HTTP/1.1",
		Headers: map[string]string{"date": seedDate, "authorization": seedAuth}, Context: api("sig")}
	p, err := parseHMACParams(strings.TrimPrefix(seedAuth, "hmac "))
	if err != nil {
		t.Fatal(err)
	}
	s, missing := p.signingString(r, "HTTP/1.1")
	want := "date: Thu, 22 Jun 2017 21:12:36 GMT\nhost: hmac.com\nGET /requests?name=bob HTTP/1.1"
	if missing != "" || string(s) != want {
		t.Fatalf("signing string = %q (missing %q), want %q", s, missing, want)
	}
	at, _ := http.ParseTime(seedDate)
	d := sigEngine(sigFixture(), at).Check(context.Background(), r)
	if !d.Allow || d.Identity.KeyID != "kid_seed" || d.Identity.Method != MethodHMAC {
		t.Fatalf("seed vector: %s %s", d.Reason, d.Message)
	}
	if !slices.Equal(d.HeadersToRemove, []string{"authorization"}) {
		t.Errorf("headers to remove = %v", d.HeadersToRemove)
	}
	// The client package computes the same signature.
	h, err := sign.HMAC{Key: seedKey, Secret: seedSecret, Headers: []string{"date", "host", "request-line"}, Now: at}.
		Sign(sign.HMACRequest{Method: "GET", RequestURI: "/requests?name=bob", Host: "hmac.com"})
	if err != nil || h.Authorization != seedAuth {
		t.Fatalf("sign.HMAC = %q, %v; want %q", h.Authorization, err, seedAuth)
	}
}

func TestParseHMACParams(t *testing.T) {
	good := map[string]hmacParams{
		`appkey="k1", algorithm="hmac-sha256", headers="date request-line", signature="AAAA"`:     {appKey: "k1", algorithm: "hmac-sha256", headers: []string{"date", "request-line"}},
		`username="k1",algorithm="hmac-sha1",headers="date",signature="AAAA"`:                     {appKey: "k1", algorithm: "hmac-sha1", headers: []string{"date"}},
		`signature="AAAA", headers=" date  digest ", Algorithm="x", AppKey="k1"`:                  {appKey: "k1", algorithm: "x", headers: []string{"date", "digest"}},
		"appkey=\"k1\",\t algorithm=\"a\" , headers=\"Date X-Custom\", signature=\"AAAA\"  ":      {appKey: "k1", algorithm: "a", headers: []string{"Date", "X-Custom"}},
		`appkey="k 1", algorithm="hmac-sha256", headers="request-line", signature="Zm9vYmFyCg=="`: {appKey: "k 1", algorithm: "hmac-sha256", headers: []string{"request-line"}},
	}
	for in, want := range good {
		got, err := parseHMACParams(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got.appKey != want.appKey || got.algorithm != want.algorithm || !slices.Equal(got.headers, want.headers) || len(got.signature) == 0 {
			t.Errorf("%s: got %+v", in, got)
		}
	}
	bad := map[string]string{
		"empty":               ``,
		"no headers":          `appkey="k1", algorithm="hmac-sha256", signature="AAAA"`,
		"empty headers":       `appkey="k1", algorithm="hmac-sha256", headers=" ", signature="AAAA"`,
		"no appkey":           `algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"empty appkey":        `appkey="", algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"no algorithm":        `appkey="k1", headers="date", signature="AAAA"`,
		"no signature":        `appkey="k1", algorithm="hmac-sha256", headers="date"`,
		"unquoted":            `appkey=k1, algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"unterminated":        `appkey="k1, algorithm="hmac-sha256", headers="date", signature="AAAA`,
		"no comma":            `appkey="k1" algorithm="hmac-sha256" headers="date" signature="AAAA"`,
		"trailing comma":      `appkey="k1", algorithm="hmac-sha256", headers="date", signature="AAAA",`,
		"duplicate":           `appkey="k1", appkey="k1", algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"appkey and username": `appkey="k1", username="k1", algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"unknown parameter":   `appkey="k1", keyId="k1", algorithm="hmac-sha256", headers="date", signature="AAAA"`,
		"url-safe base64":     `appkey="k1", algorithm="hmac-sha256", headers="date", signature="_-_-"`,
		"unpadded base64":     `appkey="k1", algorithm="hmac-sha256", headers="date", signature="AAA"`,
		"name without value":  `appkey`,
		"too many headers":    `appkey="k1", algorithm="a", headers="` + strings.Repeat("h ", 65) + `", signature="AAAA"`,
	}
	for name, in := range bad {
		if _, err := parseHMACParams(in); err == nil || !strings.Contains(err.Error(), "hmac") {
			t.Errorf("%s: err = %v, want a parse error", name, err)
		}
	}
}

func TestHMACCheck(t *testing.T) {
	now := testNow
	k1 := sign.HMAC{Key: "k1", Secret: "s1", Now: now}
	with := func(s sign.HMAC, f func(*sign.HMAC)) sign.HMAC { f(&s); return s }
	body := []byte(`{"name": "bob"}`)
	edit := func(r *Request, f func(r *Request)) *Request { f(r); return r }
	date := func(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
	at := func(d time.Duration) sign.HMAC { return with(k1, func(s *sign.HMAC) { s.Now = now.Add(d) }) }
	big := bytes.Repeat([]byte("x"), MaxSignedBody+1)

	tests := []struct {
		name   string
		req    *Request
		reason Reason
	}{
		{"get", hmacReq(t, k1, "GET", "/requests?name=bob", nil, nil), ReasonOK},
		{"post with digest", hmacReq(t, k1, "POST", "/requests", body, nil), ReasonOK},
		{"raw query kept as sent", hmacReq(t, k1, "GET", "/a%2Fb?q=a+b&r=%7e&&s", nil, nil), ReasonOK},
		{"scheme in upper case", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) {
			r.Headers["authorization"] = "HMAC" + strings.TrimPrefix(r.Headers["authorization"], "hmac")
		}), ReasonOK},
		{"username alias", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) {
			r.Headers["authorization"] = strings.Replace(r.Headers["authorization"], "appkey=", "username=", 1)
		}), ReasonOK},
		{"proxy-authorization", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) {
			r.Headers["proxy-authorization"] = r.Headers["authorization"]
			r.Headers["authorization"] = "Basic Zm9vOmJhcg=="
		}), ReasonOK},
		{"hmac-sha1", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Algorithm = "hmac-sha1" }), "GET", "/x", nil, nil), ReasonOK},
		{"hmac-sha384", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Algorithm = "hmac-sha384" }), "GET", "/x", nil, nil), ReasonOK},
		{"hmac-sha512", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Algorithm = "hmac-sha512" }), "GET", "/x", nil, nil), ReasonOK},
		{"x-date", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"x-date", "request-line"} }), "GET", "/x", nil, nil), ReasonOK},
		{"host and custom header", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"date", "host", "x-custom", "request-line"} }), "GET", "/x", nil, map[string]string{"X-Custom": "v"}), ReasonOK},
		{"listed name in mixed case", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"Date", "X-Custom", "request-line"} }), "GET", "/x", nil, map[string]string{"X-Custom": "v"}), ReasonOK},
		{"digest with empty body", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"date", "request-line", "digest"} }), "GET", "/x", nil, nil), ReasonOK},
		{"window bound inclusive, past", hmacReq(t, at(-DefaultClockSkew), "GET", "/x", nil, nil), ReasonOK},
		{"window bound inclusive, future", hmacReq(t, at(DefaultClockSkew), "GET", "/x", nil, nil), ReasonOK},
		{"rfc 850 date", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.UTC().Format("Monday, 02-Jan-06 15:04:05 GMT")}), ReasonOK},
		{"asctime date", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.UTC().Format(time.ANSIC)}), ReasonOK},
		{"date in UTC spelled Z", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.UTC().Format("Mon, 02 Jan 2006 15:04:05") + " Z"}), ReasonOK},

		{"unknown algorithm", hmacReq(t, k1, "GET", "/x", nil, nil), ReasonOK}, // replaced below
		{"malformed header", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) { r.Headers["authorization"] = `hmac appkey=k1` }), ReasonBadRequest},
		{"headers= missing", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) {
			r.Headers["authorization"] = `hmac appkey="k1", algorithm="hmac-sha256", signature="AAAA"`
		}), ReasonBadRequest},
		{"unknown key", hmacReq(t, sign.HMAC{Key: "nope", Secret: "s1", Now: now}, "GET", "/x", nil, nil), ReasonUnknownAppKey},
		{"wrong secret", hmacReq(t, sign.HMAC{Key: "k1", Secret: "s2", Now: now}, "GET", "/x", nil, nil), ReasonInvalidSignature},
		{"tampered query", edit(hmacReq(t, k1, "GET", "/x?a=1", nil, nil), func(r *Request) { r.RawQuery = "a=2" }), ReasonInvalidSignature},
		{"tampered method", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) { r.Method = "DELETE" }), ReasonInvalidSignature},
		{"query re-encoded", edit(hmacReq(t, k1, "GET", "/x?a=b+c", nil, nil), func(r *Request) { r.RawQuery = "a=b%20c" }), ReasonInvalidSignature},
		{"signed header changed", edit(hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"date", "x-custom", "request-line"} }), "GET", "/x", nil, map[string]string{"X-Custom": "v"}),
			func(r *Request) { r.Headers["x-custom"] = "w" }), ReasonInvalidSignature},
		{"http/1.0 request signed as 1.1", edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) { r.Protocol = "HTTP/1.0" }), ReasonInvalidSignature},
		{"listed header absent", edit(hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"date", "x-custom", "request-line"} }), "GET", "/x", nil, map[string]string{"X-Custom": "v"}),
			func(r *Request) { delete(r.Headers, "x-custom") }), ReasonMissingSignedHeader},
		{"no date header", edit(hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"request-line"} }), "GET", "/x", nil, nil),
			func(r *Request) { delete(r.Headers, "date") }), ReasonMissingSignedHeader},
		{"date not signed", hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"request-line"} }), "GET", "/x", nil, map[string]string{"Date": date(now)}), ReasonMissingSignedHeader},
		{"fresh unsigned x-date over a signed date", edit(hmacReq(t, at(-time.Hour), "GET", "/x", nil, nil),
			func(r *Request) { r.Headers["x-date"] = date(now) }), ReasonMissingSignedHeader},
		{"too old", hmacReq(t, at(-DefaultClockSkew-time.Second), "GET", "/x", nil, nil), ReasonClockSkew},
		{"too new", hmacReq(t, at(DefaultClockSkew+time.Second), "GET", "/x", nil, nil), ReasonClockSkew},
		{"date in BST (the seed's Europe/London client)", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.Add(time.Hour).UTC().Format("Mon, 02 Jan 2006 15:04:05") + " BST"}), ReasonBadRequest},
		{"rfc 850 date in BST", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.UTC().Format("Monday, 02-Jan-06 15:04:05") + " BST"}), ReasonBadRequest},
		{"date not an http-date", hmacReq(t, k1, "GET", "/x", nil, map[string]string{"Date": now.Format(time.RFC3339)}), ReasonBadRequest},
		{"body without digest", edit(hmacReq(t, k1, "POST", "/x", nil, nil), func(r *Request) { r.Body = body }), ReasonDigestMismatch},
		{"digest not signed", edit(hmacReq(t, with(k1, func(s *sign.HMAC) { s.Headers = []string{"date", "request-line"} }), "POST", "/x", body, nil),
			func(r *Request) { r.Headers["digest"] = sign.Digest(body) }), ReasonDigestMismatch},
		{"body changed", edit(hmacReq(t, k1, "POST", "/x", body, nil), func(r *Request) { r.Body = []byte(`{"name": "eve"}`) }), ReasonDigestMismatch},
		{"hex digest (the seed's POST example)", hmacReq(t, k1, "POST", "/x", body, map[string]string{"Digest": "SHA-256=" + hexSHA256(body)}), ReasonDigestMismatch},
		{"digest of another algorithm", hmacReq(t, k1, "POST", "/x", body, map[string]string{"Digest": "MD5=Q2hlY2sgSW50ZWdyaXR5IQ=="}), ReasonDigestMismatch},
		{"body truncated by envoy", edit(hmacReq(t, k1, "POST", "/x", body, nil), func(r *Request) { r.BodyTruncated = true }), ReasonBodyTooLarge},
		{"body over 10 MiB", hmacReq(t, k1, "POST", "/x", big, nil), ReasonBodyTooLarge},
	}
	// An algorithm outside Kong's four, signed with SHA-256 anyway.
	tests[18].req = edit(hmacReq(t, k1, "GET", "/x", nil, nil), func(r *Request) {
		r.Headers["authorization"] = strings.Replace(r.Headers["authorization"], "hmac-sha256", "hmac-md5", 1)
	})
	tests[18].reason = ReasonUnsupportedAlgorithm

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sigEngine(sigFixture(), now).Check(context.Background(), tc.req)
			if d.Reason != tc.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if d.Message == "" || strings.Contains(d.Message, "s1") {
				t.Errorf("message %q is empty or echoes the secret", d.Message)
			}
			if !d.Allow {
				return
			}
			if d.Identity.Method != MethodHMAC || d.Identity.AppID != "app1" {
				t.Errorf("identity = %+v", d.Identity)
			}
			// Every credential header goes, the unused Basic one beside
			// Proxy-Authorization too.
			want := []string{"authorization"}
			if _, ok := tc.req.Headers["proxy-authorization"]; ok {
				want = append(want, "proxy-authorization")
			}
			if !slices.Equal(d.HeadersToRemove, want) {
				t.Errorf("headers to remove = %v, want %v", d.HeadersToRemove, want)
			}
		})
	}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestHMACRequestLineVersion: Envoy reports HTTP/2 and HTTP/3 requests as
// such; Kong writes HTTP/2.0, while clients written from the seed
// hard-code HTTP/1.1. Both forms pass over HTTP/2 and HTTP/3, only the
// exact one over HTTP/1.x.
func TestHMACRequestLineVersion(t *testing.T) {
	tests := []struct {
		reported, signed string
		ok               bool
	}{
		{"HTTP/2", "HTTP/2.0", true},
		{"HTTP/2", "HTTP/1.1", true},
		{"HTTP/2", "HTTP/2", false},
		{"HTTP/3", "HTTP/3.0", true},
		{"HTTP/3", "HTTP/1.1", true},
		{"HTTP/1.1", "HTTP/1.1", true},
		{"HTTP/1.1", "HTTP/2.0", false},
		{"HTTP/1.0", "HTTP/1.0", true},
		{"HTTP/1.0", "HTTP/1.1", false},
		{"", "HTTP/1.1", true},
	}
	for _, tc := range tests {
		s := sign.HMAC{Key: "k1", Secret: "s1", Now: testNow, Protocol: tc.signed}
		r := hmacReq(t, s, "GET", "/x?y=1", nil, nil)
		r.Protocol = tc.reported
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), r)
		if d.Allow != tc.ok {
			t.Errorf("reported %q, signed %q: %s (%s), want allow=%v", tc.reported, tc.signed, d.Reason, d.Message, tc.ok)
		}
	}
}

func TestHMACAPIOptions(t *testing.T) {
	strict := func(s sign.HMAC, hdr map[string]string) *Request {
		r := hmacReq(t, s, "GET", "/x", nil, hdr)
		r.Context = api("sig-strict")
		return r
	}
	base := sign.HMAC{Key: "k1", Secret: "s1", Now: testNow, Algorithm: "hmac-sha512", Headers: []string{"date", "request-line", "x-request-id"}}
	id := map[string]string{"X-Request-Id": "r1"}
	tests := []struct {
		name   string
		req    *Request
		reason Reason
	}{
		{"all enforced headers signed", strict(base, id), ReasonOK},
		{"algorithm outside the allowlist", strict(sign.HMAC{Key: "k1", Secret: "s1", Now: testNow, Algorithm: "hmac-sha256", Headers: base.Headers}, id), ReasonUnsupportedAlgorithm},
		{"enforced header not signed", strict(sign.HMAC{Key: "k1", Secret: "s1", Now: testNow, Algorithm: "hmac-sha512"}, id), ReasonMissingSignedHeader},
		{"inside a 30s window", strict(sign.HMAC{Key: "k1", Secret: "s1", Now: testNow.Add(-30 * time.Second), Algorithm: "hmac-sha512", Headers: base.Headers}, id), ReasonOK},
		{"outside a 30s window", strict(sign.HMAC{Key: "k1", Secret: "s1", Now: testNow.Add(-31 * time.Second), Algorithm: "hmac-sha512", Headers: base.Headers}, id), ReasonClockSkew},
	}
	for _, tc := range tests {
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), tc.req)
		if d.Reason != tc.reason {
			t.Errorf("%s: reason = %s (%s), want %s", tc.name, d.Reason, d.Message, tc.reason)
		}
	}
}

func TestHMACReplay(t *testing.T) {
	s := sign.HMAC{Key: "k1", Secret: "s1", Now: testNow}
	r := hmacReq(t, s, "POST", "/x", []byte("a=1"), nil)

	f := sigFixture()
	e := sigEngine(f, testNow)
	if d := e.Check(context.Background(), r); !d.Allow {
		t.Fatalf("first: %s %s", d.Reason, d.Message)
	}
	d := e.Check(context.Background(), r)
	if d.Reason != ReasonReplayedRequest || d.Status() != 401 {
		t.Fatalf("second: %s %s", d.Reason, d.Message)
	}
	if len(f.nonces) != 1 {
		t.Fatalf("%d nonces claimed, want 1", len(f.nonces))
	}
	// A denied request claims nothing, so it cannot burn a good one.
	bad := hmacReq(t, sign.HMAC{Key: "k1", Secret: "wrong", Now: testNow}, "GET", "/y", nil, nil)
	e.Check(context.Background(), bad)
	if len(f.nonces) != 1 {
		t.Fatalf("a denied request claimed a nonce")
	}

	// Without replay protection the same request passes twice.
	r2 := *r
	r2.Context = api("sig-norelay")
	for i := range 2 {
		if d := e.Check(context.Background(), &r2); !d.Allow {
			t.Fatalf("no replay protection, call %d: %s", i, d.Reason)
		}
	}
}

func TestHMACConcurrentReplay(t *testing.T) {
	r := hmacReq(t, sign.HMAC{Key: "k1", Secret: "s1", Now: testNow}, "GET", "/x", nil, nil)
	e := sigEngine(sigFixture(), testNow)
	const n = 32
	results := make(chan Reason, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { results <- e.Check(context.Background(), r).Reason })
	}
	wg.Wait()
	close(results)
	count := map[Reason]int{}
	for r := range results {
		count[r]++
	}
	if count[ReasonOK] != 1 || count[ReasonReplayedRequest] != n-1 {
		t.Fatalf("outcomes = %v, want exactly one OK", count)
	}
}

func TestParseSignedDate(t *testing.T) {
	want := time.Date(2017, 6, 22, 21, 12, 36, 0, time.UTC)
	for _, v := range []string{seedDate, "Thursday, 22-Jun-17 21:12:36 GMT", "Thu Jun 22 21:12:36 2017", "Thu, 22 Jun 2017 21:12:36 UTC"} {
		if got, err := parseSignedDate(v); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", v, got, err)
		}
	}
	for _, v := range []string{"Thu, 22 Jun 2017 22:12:36 BST", "Thu, 22 Jun 2017 21:12:36 +0000", "2017-06-22T21:12:36Z", "", "GMT", "Thu, 22 Jun 2017 21:12:36"} {
		if _, err := parseSignedDate(v); err == nil {
			t.Errorf("%q parsed", v)
		}
	}
}
