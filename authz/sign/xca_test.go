package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestXCASign(t *testing.T) {
	h, err := XCA{Key: "K", Secret: "S", Algorithm: "HmacSHA1", Nonce: "n", Stage: "TEST", SignHeaders: []string{"X-Tenant", "content-type", "x-ca-key"}, Now: time.UnixMilli(1498165956000)}.
		Sign(XCARequest{Method: "PUT", RequestURI: "/o/7?b=2&a=1&a=3&c=", Header: http.Header{"Content-Type": {"text/plain"}, "X-Tenant": {"t"}}, Body: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	want := "PUT\n\nSfaKXIST7CwL9ImCHCH8Ow==\ntext/plain\n\nX-Ca-Key:K\nX-Ca-Nonce:n\nX-Ca-Signature-Method:HmacSHA1\nX-Ca-Timestamp:1498165956000\nX-Tenant:t\n/o/7?a=1&b=2&c"
	if h.StringToSign != want {
		t.Fatalf("string to sign\n got %q\nwant %q", h.StringToSign, want)
	}
	m := hmac.New(sha1.New, []byte("S"))
	m.Write([]byte(want))
	got := http.Header{}
	h.Apply(got)
	if got.Get("X-Ca-Signature") != base64.StdEncoding.EncodeToString(m.Sum(nil)) || got.Get("X-Ca-Stage") != "TEST" ||
		got.Get("X-Ca-Signature-Headers") != "X-Ca-Key,X-Ca-Nonce,X-Ca-Signature-Method,X-Ca-Timestamp,X-Tenant" {
		t.Fatalf("headers %v", got)
	}
	// A form body gets no Content-MD5; its fields are parameters.
	h, _ = XCA{Key: "K", Secret: "S", NoNonce: true, Now: time.UnixMilli(1)}.Sign(XCARequest{Method: "POST", RequestURI: "/f?a=q", Header: http.Header{"Content-Type": {ContentForm}}, Body: []byte("a=f+1&z=%21")})
	if want := "POST\n\n\napplication/x-www-form-urlencoded\n\nX-Ca-Key:K\nX-Ca-Timestamp:1\n/f?a=f 1&z=!"; h.StringToSign != want {
		t.Fatalf("form\n got %q\nwant %q", h.StringToSign, want)
	}
	for _, bad := range []XCA{{Key: "K", Secret: "S", Algorithm: "HmacMD5"}, {Key: "", Secret: "S"}, {Key: "K\n", Secret: "S"}} {
		if _, err := bad.Sign(XCARequest{Method: "GET", RequestURI: "/"}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := (XCA{Key: "K", Secret: "S"}).Sign(XCARequest{Method: "GET", RequestURI: "/?q=50%"}); err == nil {
		t.Error("a malformed escape was signed")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(uuid4()) {
		t.Error("nonce is not a v4 UUID")
	}
}
