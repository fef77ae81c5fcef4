package authz

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
)

// FuzzParseHMACAuthorization: the hmac Authorization parser never panics,
// what it accepts is complete, and a canonical rendering of what it
// accepted parses to the same thing. A full Check of the header never
// panics and never allows (nobody can forge the MAC).
func FuzzParseHMACAuthorization(f *testing.F) {
	f.Add(strings.TrimPrefix(seedAuth, "hmac "))
	f.Add(`username="k1",algorithm="hmac-sha1",headers="date",signature="AAAA"`)
	f.Add(`appkey="k1", algorithm="hmac-sha256", headers="", signature="AAAA"`)
	f.Add(`appkey="k1", appkey="k2"`)
	f.Add(`a="`)
	f.Add(`appkey="k1",`)
	f.Fuzz(func(t *testing.T, v string) {
		p, err := parseHMACParams(v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
		} else {
			if p.appKey == "" || p.algorithm == "" || len(p.headers) == 0 || len(p.signature) == 0 {
				t.Fatalf("accepted an incomplete header: %+v", p)
			}
			again := fmt.Sprintf(`appkey="%s", algorithm="%s", headers="%s", signature="%s"`, p.appKey, p.algorithm, strings.Join(p.headers, " "), p.rawSig)
			q, err := parseHMACParams(again)
			if err != nil || q.appKey != p.appKey || q.algorithm != p.algorithm || !slices.Equal(q.headers, p.headers) || !bytes.Equal(q.signature, p.signature) {
				t.Fatalf("re-rendered %q parses as %+v, %v; first %+v", again, q, err, p)
			}
		}
		r := req("GET", "/x?a=1", map[string]string{"authorization": "hmac " + v, "date": testNow.Format(http.TimeFormat)}, api("sig"))
		d := sigEngine(sigFixture(), testNow).Check(context.Background(), r)
		if d.Allow || !d.Reason.Known() || d.Message == "" {
			t.Fatalf("decision %+v", d)
		}
	})
}

// FuzzParamSignCanonical: parameter collection and canonicalization never
// panic, never allow a request nobody signed, and agree with the client
// package: whatever sign.Params signs from the fuzzed query and body, the
// verifier accepts.
func FuzzParamSignCanonical(f *testing.F) {
	f.Add("param1=123&param2=Abc&pampasCall=query.coupon", []byte(nil), "")
	f.Add("q=a+b&r=%26", []byte("b=x+y&a=%2B"), "application/x-www-form-urlencoded")
	f.Add("", []byte(seedPayload), "application/json")
	f.Add("a=1&a=2", []byte(`{"sign":"x","appKey":"k1","n":1e3}`), "application/json; charset=utf-8")
	f.Add("appKey=k1&sign=00", []byte("sign=1"), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, rawQuery string, body []byte, ctype string) {
		e := sigEngine(sigFixture(), testNow)
		r := req("POST", "/x?"+rawQuery, map[string]string{"content-type": ctype}, api("sig"))
		r.Body = body
		d := e.Check(context.Background(), r)
		if d.Allow || !d.Reason.Known() || d.Message == "" {
			t.Fatalf("decision %+v", d)
		}

		if strings.ContainsAny(rawQuery, "#?") || strings.Contains(rawQuery, "signMethod") || bytes.Contains(body, []byte("signMethod")) {
			return // shapes the client refuses or the server checks apart
		}
		kind, _, _ := mime.ParseMediaType(ctype)
		for _, where := range []sign.Placement{sign.InQuery, sign.InBody} {
			s, err := sign.Params{Key: "k1", Secret: "s1"}.Sign(sign.ParamRequest{URL: "/x?" + rawQuery, ContentType: ctype, Body: body}, where)
			if err != nil {
				continue
			}
			signed := req("POST", s.URL, map[string]string{"content-type": ctype}, api("sig-norelay"))
			signed.Body = s.Body
			d := e.Check(context.Background(), signed)
			tooMany := strings.Count(s.Canonical, "&") >= maxSignParams
			if !d.Allow && !tooMany && !(kind == contentJSON && len(s.Body) > maxJSONBody) {
				t.Fatalf("client-signed request (placement %d) denied: %s %s\nurl %q body %q canonical %q", where, d.Reason, d.Message, s.URL, s.Body, s.Canonical)
			}
		}
	})
}

func BenchmarkHMACVerify(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("body=%dKiB", size>>10), func(b *testing.B) {
			body := bytes.Repeat([]byte("a"), size)
			r := hmacReq(b, sign.HMAC{Key: "k1", Secret: "s1", Now: testNow}, "POST", "/orders?id=7", body, nil)
			r.Context = api("sig-norelay")
			e := sigEngine(sigFixture(), testNow)
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

func BenchmarkParamSignVerify(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		for _, kind := range []string{"form", "json"} {
			b.Run(fmt.Sprintf("%s/body=%dKiB", kind, size>>10), func(b *testing.B) {
				ctype, body := "application/x-www-form-urlencoded", []byte("a="+strings.Repeat("b", size-2))
				if kind == "json" {
					ctype, body = "application/json", []byte(`"`+strings.Repeat("b", size-2)+`"`)
				}
				r := psReq(b, sign.Params{Key: "k1", Secret: "s1"}, "POST", "/orders?id=7", ctype, body, sign.InQuery)
				e := sigEngine(sigFixture(), testNow)
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
