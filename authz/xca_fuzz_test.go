package authz

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
	"golang.org/x/net/http/httpguts"
)

// FuzzXCACanonical: the server's xca canonicalization never panics and
// agrees with the Go signer, written apart from it: whatever path, query,
// form body and custom signed header a client sends, a request the signer
// signs is allowed, and the same request with the body or the header
// value changed is not.
func FuzzXCACanonical(f *testing.F) {
	f.Add("/demo/post", "b=2&a=1&e=", "a=form+a&c=x%20y", "X-Tenant", "t1")
	f.Add("/a%2Fb", "a=1&a=2&=x&%E4%B8%AD=v", "a=3&a=4", "x-lower", "")
	f.Add("/", "", "", "Host", "api.example.com")
	f.Add("/q", "x=%2B+&y", "y=form&x=", "X-Ca-Key", "k")
	f.Fuzz(func(t *testing.T, path, rawQuery, form, name, value string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") || !httpguts.ValidHeaderFieldValue(path) || strings.ContainsAny(path, " \t") ||
			!httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) || strings.TrimSpace(value) != value ||
			strings.ContainsAny(rawQuery, "#") || !httpguts.ValidHeaderFieldValue(rawQuery) || strings.ContainsAny(rawQuery, " \t") {
			return
		}
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-ca-") || lower == "host" || lower == "content-length" || lower == "transfer-encoding" || xcaUnsignable(name) {
			return // headers the test itself controls
		}
		uri := path
		if rawQuery != "" {
			uri += "?" + rawQuery
		}
		hdr := http.Header{"Content-Type": {contentForm}}
		hdr.Set(name, value)
		s := sign.XCA{Key: xcaKey, Secret: xcaSecret, Now: testNow, Nonce: "n", SignHeaders: []string{name}}
		h, err := s.Sign(sign.XCARequest{Method: "POST", RequestURI: uri, Header: hdr, Body: []byte(form)})
		if err != nil {
			return // malformed escapes: the signer refuses them
		}
		h.Apply(hdr)
		headers := map[string]string{}
		for k, v := range hdr {
			headers[strings.ToLower(k)] = strings.Join(v, ",")
		}
		r := &Request{Method: "POST", Host: "api.example.com", Path: path, RawQuery: rawQuery, Headers: headers, Body: []byte(form), Context: api("xca")}
		if len(form) > 0 {
			headers["content-length"] = "1"
		}
		d := sigEngine(xcaFixture(), testNow).Check(context.Background(), r)
		if !d.Allow {
			if d.Reason == ReasonBadRequest || d.Reason == ReasonBodyTooLarge {
				return // e.g. too many parameters
			}
			t.Fatalf("signer and server disagree: %s (%s)\nsigner: %q\nserver: %s", d.Reason, d.Message, h.StringToSign, headerOf(d.ResponseHeaders, HeaderXCAErrorMessage))
		}
		// The same request with the custom header changed must fail.
		r.Headers[lower] = value + "x"
		if d := sigEngine(xcaFixture(), testNow).Check(context.Background(), r); d.Allow {
			t.Fatalf("a changed signed header %s still verifies", name)
		}
	})
}
