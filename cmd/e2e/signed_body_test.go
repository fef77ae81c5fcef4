package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// TestSignedBodyWithheldByTheProxy: with Envoy's with_request_body off, a
// signed POST that declares a body reaches authzd without it; the body
// was never checked, so the request is refused with what to fix.
func TestSignedBodyWithheldByTheProxy(t *testing.T) {
	w := newSigWorld(t)
	ps, err := sign.Params{Key: sigKey, Secret: sigSecret, Timestamp: time.Now()}.Sign(sign.ParamRequest{URL: "http://api.example.com/pay?to=bob"}, sign.InQuery)
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string]extauthz.HTTPRequest{
		"hmac":      hmacReq(t, sign.HMAC{}, "POST", "http://api.example.com/pay", nil, "Content-Length", "9999"),
		"paramsign": {Method: "POST", URL: ps.URL, Header: http.Header{"Content-Length": {"9999"}}},
	}
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			o := w.d.check(t, withAPI(r, "sig"))
			o.wantDeny(t, 400, "BadRequest")
			if !strings.Contains(o.body["message"], "with_request_body") {
				t.Errorf("message %q does not say to enable with_request_body", o.body["message"])
			}
			r.Header.Del("Content-Length")
			w.d.check(t, withAPI(r, "sig")).wantAllow(t, "signer")
		})
	}
}
