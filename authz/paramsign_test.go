package authz

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/sign"
)

// The seed's parameter-signature vectors (full hex from the seed).
const (
	seedQuerySign = "d6fee3145be668425f70878084f9d39fce3f7c5fca283ffc4c5d5a5568077334e9a50526e7e806758a66b7647ae9951f9324a0f921e28417e07d69beed79f7ef"
	seedBodySign  = "ec23eeda5f88abe26311ed020439172eea409e3475875c87e9abfa8a6856138e767608e8497435f573ccb417a90448c78abdca4a0de12c4da4583aa3add7bf52"
	seedPayload   = `{"userName":"abc","gender":"male"}`
)

func TestParamSignSeedVectors(t *testing.T) {
	tests := []struct {
		params    []QueryParam
		canonical string
		want      string
	}{
		{[]QueryParam{{Name: "param1", Value: "123"}, {Name: "param2", Value: "Abc"}, {Name: "appKey", Value: "foobar"}, {Name: "pampasCall", Value: "query.coupon"}},
			"appKey=foobar&pampasCall=query.coupon&param1=123&param2=Abcmy.secret", seedQuerySign},
		// The seed's prose says my.secret; its Java test names test-secret
		// by mistake.
		{[]QueryParam{{Name: "data", Value: seedPayload}, {Name: "appKey", Value: "foobar"}},
			"appKey=foobar&data=" + seedPayload + "my.secret", seedBodySign},
	}
	for _, tc := range tests {
		if got := string(paramCanonical(tc.params, "my.secret")); got != tc.canonical {
			t.Errorf("canonical = %q, want %q", got, tc.canonical)
		}
		if got := paramSignature(tc.params, "my.secret"); got != tc.want {
			t.Errorf("signature = %s, want %s", got, tc.want)
		}
		var sp []sign.Param
		for _, p := range tc.params {
			sp = append(sp, sign.Param{Name: p.Name, Value: p.Value})
		}
		if got := sign.ParamSignature(sp, "my.secret"); got != tc.want {
			t.Errorf("sign.ParamSignature = %s, want %s", got, tc.want)
		}
	}
	// Through the engine, exactly as the seed sends them.
	f := sigFixture()
	e := sigEngine(f, testNow)
	get := req("GET", "/?param1=123&param2=Abc&appKey=foobar&pampasCall=query.coupon&sign="+seedQuerySign, nil, api("sig"))
	if d := e.Check(context.Background(), get); !d.Allow || d.Identity.Method != MethodParamSign || !slices.Equal(d.QueryToRemove, []string{"appKey", "sign"}) {
		t.Errorf("seed GET: %s %s, remove %v", d.Reason, d.Message, d.QueryToRemove)
	}
	post := req("POST", "/", map[string]string{"content-type": "application/json"}, api("sig"))
	post.Body = []byte(`{
  "data": "{\"userName\":\"abc\",\"gender\":\"male\"}",
  "appKey": "foobar",
  "sign": "` + seedBodySign + `"
}`)
	if d := e.Check(context.Background(), post); !d.Allow {
		t.Errorf("seed JSON envelope: %s %s", d.Reason, d.Message)
	}
	raw := req("POST", "/?appKey=foobar&sign="+seedBodySign, map[string]string{"content-type": "application/json; charset=utf-8"}, api("sig"))
	raw.Body = []byte(seedPayload)
	if d := e.Check(context.Background(), raw); !d.Allow {
		t.Errorf("raw JSON with sign in the query: %s %s", d.Reason, d.Message)
	}
}

// psReq builds a request signed by the client package.
func psReq(t testing.TB, p sign.Params, method, rawURL, ctype string, body []byte, where sign.Placement) *Request {
	t.Helper()
	s, err := p.Sign(sign.ParamRequest{URL: rawURL, ContentType: ctype, Body: body}, where)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{}
	if ctype != "" {
		h["content-type"] = ctype
	}
	r := req(method, s.URL, h, api("sig"))
	r.Body = s.Body
	return r
}

func TestParamSignCheck(t *testing.T) {
	now := testNow
	k1 := sign.Params{Key: "k1", Secret: "s1"}
	ts := func(d time.Duration) sign.Params { return sign.Params{Key: "k1", Secret: "s1", Timestamp: now.Add(d)} }
	form, js := "application/x-www-form-urlencoded", "application/json"
	edit := func(r *Request, f func(r *Request)) *Request { f(r); return r }
	manyParams := strings.Repeat("p=1&", 99)
	hugeForm := []byte("a=" + strings.Repeat("x", MaxSignedBody))
	hugeJSON := []byte(`"` + strings.Repeat("x", maxJSONBody) + `"`)
	sig := func(q string) string { // sign a raw query by hand, for shapes the client refuses
		ps, _ := ParseQuery(q)
		return q + "&sign=" + paramSignature(ps, "s1")
	}

	tests := []struct {
		name   string
		req    *Request
		reason Reason
	}{
		{"query", psReq(t, k1, "GET", "/x?b=2&a=1", "", nil, sign.InQuery), ReasonOK},
		{"query with encoded values", psReq(t, k1, "GET", "/x?q=a+b&r=%26%3D%C3%A9&s=", "", nil, sign.InQuery), ReasonOK},
		{"repeated names keep their order", psReq(t, k1, "GET", "/x?a=2&a=1", "", nil, sign.InQuery), ReasonOK},
		{"repeated names reordered", edit(psReq(t, k1, "GET", "/x?a=2&a=1", "", nil, sign.InQuery), func(r *Request) {
			r.RawQuery = "a=1&a=2" + r.RawQuery[len("a=2&a=1"):]
		}), ReasonInvalidSignature},
		{"form, sign in body", psReq(t, k1, "POST", "/x?q=1", form, []byte("b=x+y&a=%2B"), sign.InBody), ReasonOK},
		{"form, sign in query", psReq(t, k1, "POST", "/x", form, []byte("b=x+y&a=%2B"), sign.InQuery), ReasonOK},
		{"json raw, sign in query", psReq(t, k1, "POST", "/x", js, []byte(seedPayload), sign.InQuery), ReasonOK},
		{"json envelope", psReq(t, k1, "POST", "/x?q=1", js, []byte(seedPayload), sign.InBody), ReasonOK},
		{"json envelope with timestamp", psReq(t, ts(0), "POST", "/x", js, []byte(seedPayload), sign.InBody), ReasonOK},
		{"json envelope with number and bool members", edit(req("POST", "/x", map[string]string{"content-type": js}, api("sig")), func(r *Request) {
			ps := []QueryParam{{Name: "n", Value: "1.50"}, {Name: "b", Value: "true"}, {Name: "appKey", Value: "k1"}}
			r.Body = []byte(`{"n": 1.50, "b": true, "appKey": "k1", "sign": "` + paramSignature(ps, "s1") + `"}`)
		}), ReasonOK},
		{"timestamp window inclusive", psReq(t, ts(-DefaultClockSkew), "GET", "/x", "", nil, sign.InQuery), ReasonOK},
		{"signMethod SHA512", psReq(t, k1, "GET", "/x?signMethod=SHA512", "", nil, sign.InQuery), ReasonOK},
		{"99 parameters plus appKey", psReq(t, k1, "GET", "/x?"+strings.TrimSuffix(manyParams, "&"), "", nil, sign.InQuery), ReasonOK},

		{"wrong secret", psReq(t, sign.Params{Key: "k1", Secret: "nope"}, "GET", "/x?a=1", "", nil, sign.InQuery), ReasonInvalidSignature},
		{"unknown key", psReq(t, sign.Params{Key: "zz", Secret: "s1"}, "GET", "/x?a=1", "", nil, sign.InQuery), ReasonUnknownAppKey},
		{"parameter changed", edit(psReq(t, k1, "GET", "/x?a=1", "", nil, sign.InQuery), func(r *Request) { r.RawQuery = strings.Replace(r.RawQuery, "a=1", "a=2", 1) }), ReasonInvalidSignature},
		{"parameter added", edit(psReq(t, k1, "GET", "/x?a=1", "", nil, sign.InQuery), func(r *Request) { r.RawQuery += "&b=1" }), ReasonInvalidSignature},
		{"sign in upper-case hex", edit(psReq(t, k1, "GET", "/x?a=1", "", nil, sign.InQuery), func(r *Request) {
			i := strings.Index(r.RawQuery, "sign=") + 5
			r.RawQuery = r.RawQuery[:i] + strings.ToUpper(r.RawQuery[i:])
		}), ReasonInvalidSignature},
		{"form body changed", edit(psReq(t, k1, "POST", "/x", form, []byte("a=1"), sign.InQuery), func(r *Request) { r.Body = []byte("a=2") }), ReasonInvalidSignature},
		{"json raw body changed", edit(psReq(t, k1, "POST", "/x", js, []byte(seedPayload), sign.InQuery), func(r *Request) { r.Body = []byte(`{}`) }), ReasonInvalidSignature},
		{"query added to an envelope", edit(psReq(t, k1, "POST", "/x", js, []byte(seedPayload), sign.InBody), func(r *Request) { r.RawQuery = "admin=1" }), ReasonInvalidSignature},
		{"sign without appKey", req("GET", "/x?a=1&sign=abc", nil, api("sig")), ReasonBadRequest},
		{"empty sign", req("GET", "/x?appKey=k1&sign=", nil, api("sig")), ReasonBadRequest},
		{"sign twice", req("GET", "/x?appKey=k1&sign=abc&sign=abc", nil, api("sig")), ReasonBadRequest},
		{"sign in query and form", edit(req("POST", "/x?appKey=k1&sign=abc", map[string]string{"content-type": form}, api("sig")), func(r *Request) { r.Body = []byte("sign=abc") }), ReasonBadRequest},
		{"two appKeys", req("GET", "/x?"+sig("appKey=k1&appKey=k2"), nil, api("sig")), ReasonBadRequest},
		{"timestamp not an integer", req("GET", "/x?"+sig("appKey=k1&apiTimestamp=1.5"), nil, api("sig")), ReasonBadRequest},
		{"timestamp twice", req("GET", "/x?"+sig("appKey=k1&apiTimestamp=1&apiTimestamp=1"), nil, api("sig")), ReasonBadRequest},
		{"timestamp too old", psReq(t, ts(-DefaultClockSkew-time.Second), "GET", "/x", "", nil, sign.InQuery), ReasonClockSkew},
		{"timestamp too new", psReq(t, ts(DefaultClockSkew+time.Second), "GET", "/x", "", nil, sign.InQuery), ReasonClockSkew},
		{"signMethod MD5", psReq(t, k1, "GET", "/x?signMethod=MD5", "", nil, sign.InQuery), ReasonUnsupportedAlgorithm},
		{"form body of 101 fields", edit(req("POST", "/x?appKey=k1&sign=abc", map[string]string{"content-type": form}, api("sig")), func(r *Request) {
			r.Body = []byte(manyParams + "p=1&p=1")
		}), ReasonBadRequest},
		{"101 parameters", psReq(t, k1, "GET", "/x?"+manyParams+"p=1", "", nil, sign.InQuery), ReasonBadRequest},
		{"sign in query, body of another type", edit(psReq(t, k1, "POST", "/x", "", nil, sign.InQuery), func(r *Request) {
			r.Headers["content-type"] = "text/plain"
			r.Body = []byte("hello")
		}), ReasonBadRequest},
		{"envelope member is an object", edit(req("POST", "/x", map[string]string{"content-type": js}, api("sig")), func(r *Request) {
			r.Body = []byte(`{"data": {"a": 1}, "appKey": "k1", "sign": "abc"}`)
		}), ReasonBadRequest},
		{"envelope member twice", edit(req("POST", "/x", map[string]string{"content-type": js}, api("sig")), func(r *Request) {
			r.Body = []byte(`{"data": "a", "data": "b", "appKey": "k1", "sign": "abc"}`)
		}), ReasonBadRequest},
		{"bad form encoding", edit(req("POST", "/x?appKey=k1&sign=abc", map[string]string{"content-type": form}, api("sig")), func(r *Request) { r.Body = []byte("a=%zz") }), ReasonBadRequest},
		{"form over 10 MiB", edit(req("POST", "/x?appKey=k1&sign=abc", map[string]string{"content-type": form}, api("sig")), func(r *Request) { r.Body = hugeForm }), ReasonBodyTooLarge},
		{"json over 2 MiB", edit(req("POST", "/x?appKey=k1&sign=abc", map[string]string{"content-type": js}, api("sig")), func(r *Request) { r.Body = hugeJSON }), ReasonBodyTooLarge},
		{"body truncated by envoy", edit(psReq(t, k1, "POST", "/x", form, []byte("a=1"), sign.InQuery), func(r *Request) { r.BodyTruncated = true }), ReasonBodyTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sigEngine(sigFixture(), now).Check(context.Background(), tc.req)
			if d.Reason != tc.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if d.Message == "" || strings.Contains(d.Message, "s1") {
				t.Errorf("message %q is empty or echoes the secret", d.Message)
			}
			if d.Allow && (d.Identity.Method != MethodParamSign || d.Identity.AppID != "app1") {
				t.Errorf("identity = %+v", d.Identity)
			}
		})
	}
}

func TestParamSignAPIOptions(t *testing.T) {
	strict := func(r *Request) *Request { r.Context = api("sig-strict"); return r }
	tests := []struct {
		name   string
		req    *Request
		reason Reason
	}{
		{"timestamp required, missing", strict(psReq(t, sign.Params{Key: "k1", Secret: "s1"}, "GET", "/x", "", nil, sign.InQuery)), ReasonBadRequest},
		{"timestamp required, present", strict(psReq(t, sign.Params{Key: "k1", Secret: "s1", Timestamp: testNow}, "GET", "/x", "", nil, sign.InQuery)), ReasonOK},
		{"30s window", strict(psReq(t, sign.Params{Key: "k1", Secret: "s1", Timestamp: testNow.Add(31 * time.Second)}, "GET", "/x", "", nil, sign.InQuery)), ReasonClockSkew},
	}
	for _, tc := range tests {
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), tc.req)
		if d.Reason != tc.reason {
			t.Errorf("%s: reason = %s (%s), want %s", tc.name, d.Reason, d.Message, tc.reason)
		}
	}
	// A request with sign takes paramsign over a bare appKey when the API
	// accepts both; a wrong signature is not rescued by the key method.
	r := req("GET", "/x?appKey=k1&sign=00", nil, api("sig-or-key"))
	if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); d.Reason != ReasonInvalidSignature {
		t.Errorf("sign with a key-accepting API: %s", d.Reason)
	}
	// A JSON payload that merely mentions "sign" is no envelope.
	r = req("POST", "/x?appKey=k1", map[string]string{"content-type": "application/json"}, api("sig-or-key"))
	r.Body = []byte(`["sign"]`)
	if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); !d.Allow || d.Identity.Method != MethodKey {
		t.Errorf("payload mentioning sign: %s %s", d.Reason, d.Identity.Method)
	}
}

func TestParamSignReplay(t *testing.T) {
	f := sigFixture()
	e := sigEngine(f, testNow)
	stamped := psReq(t, sign.Params{Key: "k1", Secret: "s1", Timestamp: testNow}, "GET", "/x?a=1", "", nil, sign.InQuery)
	if d := e.Check(context.Background(), stamped); !d.Allow || !slices.Equal(d.QueryToRemove, []string{"appKey", "apiTimestamp", "sign"}) {
		t.Fatalf("first: %s, remove %v", d.Reason, d.QueryToRemove)
	}
	if d := e.Check(context.Background(), stamped); d.Reason != ReasonReplayedRequest {
		t.Fatalf("second: %s", d.Reason)
	}
	// Without apiTimestamp a signed URL is reusable by design.
	static := psReq(t, sign.Params{Key: "k1", Secret: "s1"}, "GET", "/x?a=1", "", nil, sign.InQuery)
	for i := range 3 {
		if d := e.Check(context.Background(), static); !d.Allow {
			t.Fatalf("static URL, call %d: %s", i, d.Reason)
		}
	}

	// Concurrent replays: exactly one wins.
	fresh := psReq(t, sign.Params{Key: "k1", Secret: "s1", Timestamp: testNow.Add(time.Second)}, "GET", "/x?a=1", "", nil, sign.InQuery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 32 {
		wg.Go(func() {
			if e.Check(context.Background(), fresh).Allow {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent replays allowed, want 1", ok)
	}
}

// TestParamSignClientRoundTrip: whatever the client package signs, the
// verifier accepts, for awkward names and values.
func TestParamSignClientRoundTrip(t *testing.T) {
	values := []string{"", " ", "+", "&", "=", "%", "é", "a b", "中文", "\"", "{\"a\":1}", "x=y&z"}
	for i, v := range values {
		q := url.Values{"v": {v}, "n" + strconv.Itoa(i): {v}}
		for _, where := range []sign.Placement{sign.InQuery, sign.InBody} {
			r := psReq(t, sign.Params{Key: "k1", Secret: "s1"}, "POST", "/x?"+q.Encode(), "application/x-www-form-urlencoded", []byte(q.Encode()), where)
			if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); !d.Allow {
				t.Errorf("%q placement %d: %s %s", v, where, d.Reason, d.Message)
			}
		}
		body := fmt.Appendf(nil, `{"v": %q}`, v)
		r := psReq(t, sign.Params{Key: "k1", Secret: "s1"}, "POST", "/x", "application/json", body, sign.InBody)
		if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); !d.Allow {
			t.Errorf("%q envelope: %s %s", v, d.Reason, d.Message)
		}
	}
}
