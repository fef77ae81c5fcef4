package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// The seed's client credentials: clients written from the seed work
// against appauthz unchanged.
const (
	sigKey    = "088ed68d41504123b76d0812f328b560"
	sigSecret = "01c28076047a46a9a3d46d9082f2a716"
)

type sigWorld struct {
	d     *daemon
	url   string
	keyID string // the key id of sigKey
}

func newSigWorld(t *testing.T) *sigWorld {
	t.Helper()
	url := startRedis(t).URL()
	keyID := ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)["key_id"].(string)
	ctl(t, url, "api", "create", "--id", "sig", "--methods", "hmac,paramsign", "--access", "authenticated")
	ctl(t, url, "api", "create", "--id", "strict", "--methods", "hmac,paramsign", "--access", "authenticated",
		"--hmac-algorithms", "hmac-sha256", "--enforce-headers", "date,request-line,host", "--timestamp-required")
	ctl(t, url, "api", "create", "--id", "noreplay", "--methods", "hmac", "--access", "authenticated", "--replay-protection=false")
	return &sigWorld{d: startAuthzd(t, url), url: url, keyID: keyID}
}

// hmacReq builds a request signed as a Kong hmac-auth client would sign it.
func hmacReq(t *testing.T, s sign.HMAC, method, rawURL string, body []byte, header ...string) extauthz.HTTPRequest {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	if s.Key == "" {
		s.Key, s.Secret = sigKey, sigSecret
	}
	signed, err := s.Sign(sign.HMACRequest{Method: method, RequestURI: u.RequestURI(), Host: u.Host, Header: h, Body: body})
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	signed.Apply(h)
	return extauthz.HTTPRequest{Method: method, URL: rawURL, Header: h, Body: body}
}

func TestHMACEndToEnd(t *testing.T) {
	w := newSigWorld(t)
	d := w.d
	sig := func(r extauthz.HTTPRequest) extauthz.HTTPRequest { return withAPI(r, "sig") }

	for _, alg := range []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		t.Run("GET "+alg, func(t *testing.T) {
			o := d.check(t, sig(hmacReq(t, sign.HMAC{Algorithm: alg}, "GET", "http://hmac.com/requests?name=bob&alg="+alg, nil)))
			o.wantAllow(t, "signer")
			if o.set["x-appauthz-method"] != "hmac" || o.set["x-appauthz-key"] != w.keyID || !slices.Contains(o.removed, "authorization") {
				t.Errorf("set %v removed %v", o.set, o.removed)
			}
		})
	}
	t.Run("POST with digest", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "POST", "http://hmac.com/requests", []byte(`{"name": "bob"}`), "Content-Type", "application/json")
		d.check(t, sig(r)).wantAllow(t, "signer")
	})
	t.Run("HTTP/2 request signed with the seed's HTTP/1.1 request-line", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/h2?x=1", nil)
		r.Protocol = "HTTP/2"
		d.check(t, sig(r)).wantAllow(t, "signer")
	})
	t.Run("HTTP/2 request signed with HTTP/2.0 as Kong writes it", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{Protocol: "HTTP/2.0"}, "GET", "http://hmac.com/h2?x=2", nil)
		r.Protocol = "HTTP/2"
		d.check(t, sig(r)).wantAllow(t, "signer")
	})
	t.Run("Proxy-Authorization with username alias", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/proxy", nil)
		auth := strings.Replace(r.Header.Get("Authorization"), "hmac appkey=", "hmac username=", 1)
		r.Header.Del("Authorization")
		r.Header.Set("Proxy-Authorization", auth)
		o := d.check(t, sig(r))
		o.wantAllow(t, "signer")
		if !slices.Contains(o.removed, "proxy-authorization") {
			t.Errorf("proxy-authorization not removed: %v", o.removed)
		}
	})

	t.Run("query tampering", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/requests?amount=1", nil)
		r.URL = "http://hmac.com/requests?amount=1000"
		d.check(t, sig(r)).wantDeny(t, 401, "InvalidSignature")
	})
	t.Run("body tampering", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "POST", "http://hmac.com/pay", []byte(`{"amount":1}`))
		r.Body = []byte(`{"amount":1000}`)
		d.check(t, sig(r)).wantDeny(t, 401, "DigestMismatch")
	})
	t.Run("body without digest", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{Headers: []string{"date", "request-line"}}, "POST", "http://hmac.com/pay", nil)
		r.Body = []byte(`{"amount":1}`)
		d.check(t, sig(r)).wantDeny(t, 401, "DigestMismatch")
	})
	t.Run("wrong secret", func(t *testing.T) {
		d.check(t, sig(hmacReq(t, sign.HMAC{Key: sigKey, Secret: "not-the-secret"}, "GET", "http://hmac.com/x", nil))).wantDeny(t, 401, "InvalidSignature")
	})
	t.Run("unknown key", func(t *testing.T) {
		d.check(t, sig(hmacReq(t, sign.HMAC{Key: "nobody", Secret: "x"}, "GET", "http://hmac.com/x", nil))).wantDeny(t, 401, "UnknownAppKey")
	})
	t.Run("algorithm not allowed by the API", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{Algorithm: "hmac-sha1", Headers: []string{"date", "request-line", "host"}}, "GET", "http://hmac.com/x", nil)
		d.check(t, withAPI(r, "strict")).wantDeny(t, 401, "UnsupportedAlgorithm")
	})
	t.Run("enforced header not signed", func(t *testing.T) {
		d.check(t, withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/x", nil), "strict")).wantDeny(t, 401, "MissingSignedHeader")
		r := hmacReq(t, sign.HMAC{Headers: []string{"date", "request-line", "host"}}, "GET", "http://hmac.com/x", nil)
		d.check(t, withAPI(r, "strict")).wantAllow(t, "signer")
	})
	t.Run("listed header absent", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{Headers: []string{"date", "request-line", "x-trace"}}, "GET", "http://hmac.com/x", nil, "X-Trace", "1")
		r.Header.Del("X-Trace")
		d.check(t, sig(r)).wantDeny(t, 401, "MissingSignedHeader")
	})
	t.Run("unsigned date is not trusted", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{Headers: []string{"request-line"}}, "GET", "http://hmac.com/x", nil)
		d.check(t, sig(r)).wantDeny(t, 401, "MissingSignedHeader")
	})
	t.Run("clock skew", func(t *testing.T) {
		old := hmacReq(t, sign.HMAC{Now: time.Now().Add(-6 * time.Minute)}, "GET", "http://hmac.com/x", nil)
		d.check(t, sig(old)).wantDeny(t, 401, "ClockSkew")
		future := hmacReq(t, sign.HMAC{Now: time.Now().Add(6 * time.Minute)}, "GET", "http://hmac.com/x", nil)
		d.check(t, sig(future)).wantDeny(t, 401, "ClockSkew")
	})
	t.Run("date in British Summer Time is refused", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/x", nil,
			"Date", time.Now().In(time.FixedZone("BST", 3600)).Format(time.RFC1123))
		o := d.check(t, sig(r))
		if o.allowed {
			t.Fatalf("a BST date was accepted")
		}
	})
	t.Run("malformed authorization", func(t *testing.T) {
		r := get("http://hmac.com/x", "Authorization", `hmac appkey="`+sigKey+`", algorithm="hmac-sha256", signature="x"`, "Date", time.Now().UTC().Format(http.TimeFormat))
		d.check(t, sig(r)).wantDeny(t, 400, "BadRequest")
	})
	t.Run("body truncated by Envoy", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "POST", "http://hmac.com/big", bytes.Repeat([]byte("a"), 1024))
		cr, err := extauthz.NewCheckRequest(sig(r))
		if err != nil {
			t.Fatal(err)
		}
		cr.Attributes.Request.Http.Headers["x-envoy-auth-partial-body"] = "true"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := d.client.Check(ctx, cr)
		if err != nil {
			t.Fatal(err)
		}
		newOutcome(t, resp).wantDeny(t, 413, "BodyTooLarge")
	})
	t.Run("body over 10 MiB", func(t *testing.T) {
		r := hmacReq(t, sign.HMAC{}, "POST", "http://hmac.com/big", bytes.Repeat([]byte("a"), 10<<20+1))
		d.check(t, sig(r)).wantDeny(t, 413, "BodyTooLarge")
	})
	t.Run("replay", func(t *testing.T) {
		r := sig(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/once", nil))
		d.check(t, r).wantAllow(t, "signer")
		d.check(t, r).wantDeny(t, 401, "ReplayedRequest")
	})
	t.Run("replay guard off for the API", func(t *testing.T) {
		r := withAPI(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/again", nil), "noreplay")
		d.check(t, r).wantAllow(t, "signer")
		d.check(t, r).wantAllow(t, "signer")
	})
	t.Run("concurrent replays: exactly one wins", func(t *testing.T) {
		r := sig(hmacReq(t, sign.HMAC{}, "GET", "http://hmac.com/race", nil))
		var allowed, replayed atomic.Int32
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				o := d.check(t, r)
				switch {
				case o.allowed:
					allowed.Add(1)
				case o.reason == "ReplayedRequest":
					replayed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 1 || replayed.Load() != 31 {
			t.Fatalf("allowed %d, replayed %d; want 1 and 31", allowed.Load(), replayed.Load())
		}
	})
}

func TestParamSignEndToEnd(t *testing.T) {
	w := newSigWorld(t)
	d := w.d
	p := sign.Params{Key: sigKey, Secret: sigSecret}
	pts := sign.Params{Key: sigKey, Secret: sigSecret, Timestamp: time.Now()}

	signed := func(t *testing.T, p sign.Params, method, rawURL, contentType string, body []byte, where sign.Placement) extauthz.HTTPRequest {
		t.Helper()
		s, err := p.Sign(sign.ParamRequest{URL: rawURL, ContentType: contentType, Body: body}, where)
		if err != nil {
			t.Fatalf("signing: %v", err)
		}
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		return withAPI(extauthz.HTTPRequest{Method: method, URL: s.URL, Header: h, Body: s.Body}, "sig")
	}

	t.Run("GET query", func(t *testing.T) {
		o := d.check(t, signed(t, p, "GET", "http://api.example.com/coupons?param1=123&param2=Abc&pampasCall=query.coupon", "", nil, sign.InQuery))
		o.wantAllow(t, "signer")
		slices.Sort(o.queryGone)
		if !slices.Equal(o.queryGone, []string{"appKey", "sign"}) || o.set["x-appauthz-method"] != "paramsign" {
			t.Errorf("query removed %v set %v", o.queryGone, o.set)
		}
	})
	t.Run("POST form body", func(t *testing.T) {
		r := signed(t, p, "POST", "http://api.example.com/orders", sign.ContentForm, []byte("item=book&qty=2"), sign.InBody)
		d.check(t, r).wantAllow(t, "signer")
	})
	t.Run("POST JSON envelope", func(t *testing.T) {
		r := signed(t, p, "POST", "http://api.example.com/orders", sign.ContentJSON, []byte(`{"userName":"abc","gender":"male"}`), sign.InBody)
		d.check(t, r).wantAllow(t, "signer")
	})
	t.Run("POST raw JSON, signature in the query", func(t *testing.T) {
		r := signed(t, pts, "POST", "http://api.example.com/orders", sign.ContentJSON, []byte(`{"userName":"abc"}`), sign.InQuery)
		o := d.check(t, r)
		o.wantAllow(t, "signer")
		slices.Sort(o.queryGone)
		if !slices.Equal(o.queryGone, []string{"apiTimestamp", "appKey", "sign"}) {
			t.Errorf("query removed %v", o.queryGone)
		}
	})
	t.Run("query tampering", func(t *testing.T) {
		r := signed(t, p, "GET", "http://api.example.com/pay?amount=1", "", nil, sign.InQuery)
		r.URL = strings.Replace(r.URL, "amount=1", "amount=1000", 1)
		d.check(t, r).wantDeny(t, 401, "InvalidSignature")
	})
	t.Run("body tampering", func(t *testing.T) {
		r := signed(t, p, "POST", "http://api.example.com/pay", sign.ContentJSON, []byte(`{"amount":1}`), sign.InQuery)
		r.Body = []byte(`{"amount":1000}`)
		d.check(t, r).wantDeny(t, 401, "InvalidSignature")
	})
	t.Run("timestamp out of window", func(t *testing.T) {
		old := sign.Params{Key: sigKey, Secret: sigSecret, Timestamp: time.Now().Add(-10 * time.Minute)}
		d.check(t, signed(t, old, "GET", "http://api.example.com/x?a=1", "", nil, sign.InQuery)).wantDeny(t, 401, "ClockSkew")
	})
	t.Run("timestamp required by the API", func(t *testing.T) {
		r := signed(t, p, "GET", "http://api.example.com/x?a=1", "", nil, sign.InQuery)
		r.ContextExtensions["api"] = "strict"
		d.check(t, r).wantDeny(t, 400, "BadRequest")
		r = signed(t, pts, "GET", "http://api.example.com/x?a=2", "", nil, sign.InQuery)
		r.ContextExtensions["api"] = "strict"
		d.check(t, r).wantAllow(t, "signer")
	})
	t.Run("sign without appKey", func(t *testing.T) {
		d.check(t, withAPI(get("http://api.example.com/x?a=1&sign=abc"), "sig")).wantDeny(t, 400, "BadRequest")
	})
	t.Run("too many parameters", func(t *testing.T) {
		var q []string
		for i := range 101 {
			q = append(q, "p"+strconv.Itoa(i)+"=1")
		}
		r := signed(t, p, "GET", "http://api.example.com/x?"+strings.Join(q, "&"), "", nil, sign.InQuery)
		d.check(t, r).wantDeny(t, 400, "BadRequest")
	})
	t.Run("JSON body over 2 MiB", func(t *testing.T) {
		big := []byte(`{"data":"` + strings.Repeat("a", 2<<20) + `"}`)
		r := signed(t, p, "POST", "http://api.example.com/x", sign.ContentJSON, big, sign.InQuery)
		d.check(t, r).wantDeny(t, 413, "BodyTooLarge")
	})
	t.Run("timestamped replay", func(t *testing.T) {
		r := signed(t, pts, "GET", "http://api.example.com/once?a=1", "", nil, sign.InQuery)
		d.check(t, r).wantAllow(t, "signer")
		d.check(t, r).wantDeny(t, 401, "ReplayedRequest")
	})
}
