package authz

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/sign"
)

func TestBodyWithheld(t *testing.T) {
	tests := map[string]struct {
		headers map[string]string
		body    string
		refused bool
	}{
		"no body, no declaration":             {nil, "", false},
		"content-length 0":                    {map[string]string{"content-length": "0"}, "", false},
		"content-length 9999, no body":        {map[string]string{"content-length": "9999"}, "", true},
		"content-length 9999, body arrived":   {map[string]string{"content-length": "9999"}, "x", false},
		"malformed content-length":            {map[string]string{"content-length": "12,12"}, "", true},
		"negative content-length":             {map[string]string{"content-length": "-1"}, "", true},
		"chunked, not buffered":               {map[string]string{"transfer-encoding": "chunked"}, "", true},
		"chunked, buffered and empty":         {map[string]string{"transfer-encoding": "chunked", partialBodyHeader: "false"}, "", false},
		"chunked and length 0, not buffered":  {map[string]string{"transfer-encoding": "chunked", "content-length": "0"}, "", true},
		"content-length, buffered, yet empty": {map[string]string{"content-length": "5", partialBodyHeader: "false"}, "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := req("POST", "/x", tc.headers, nil)
			r.Body = []byte(tc.body)
			reason, msg := bodyWithheld(r)
			if (reason != ReasonOK) != tc.refused {
				t.Fatalf("reason %s (%s), refused = %v", reason, msg, tc.refused)
			}
			if tc.refused && (reason != ReasonBadRequest || !strings.Contains(msg, "with_request_body")) {
				t.Fatalf("reason %s, message %q: want BadRequest naming with_request_body", reason, msg)
			}
		})
	}
}

// TestSignedBodyNeverArrived: a signed POST that declares a body Envoy did
// not send (no with_request_body) is refused by every signature method,
// while the other methods do not care about the body.
func TestSignedBodyNeverArrived(t *testing.T) {
	declare := func(r *Request) *Request { r.Headers["content-length"] = "9999"; r.Body = nil; return r }
	hm := declare(hmacReq(t, sign.HMAC{Key: seedKey, Secret: seedSecret, Algorithm: "hmac-sha256", Now: testNow}, "POST", "/x", nil, nil))
	ps := declare(psRaw("/x?appKey=k1&apiTimestamp=" + strconv.FormatInt(testNow.Unix(), 10)))
	ps.Method = "POST"
	for name, r := range map[string]*Request{"hmac": hm, "paramsign": ps} {
		t.Run(name, func(t *testing.T) {
			d := sigEngine(sigFixture(), testNow).Check(context.Background(), r)
			if d.Reason != ReasonBadRequest || !strings.Contains(d.Message, "with_request_body") {
				t.Fatalf("reason %s (%s), want BadRequest naming with_request_body", d.Reason, d.Message)
			}
		})
	}
	t.Run("the same requests without the declaration pass", func(t *testing.T) {
		for _, r := range []*Request{hm, ps} {
			delete(r.Headers, "content-length")
			if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); !d.Allow {
				t.Fatalf("%s: %s (%s)", r.Method, d.Reason, d.Message)
			}
		}
	})
	t.Run("an API key ignores the body", func(t *testing.T) {
		r := req("POST", "/x", map[string]string{"x-app-key": "k1", "content-length": "9999"}, api("sig-or-key"))
		if d := sigEngine(sigFixture(), testNow).Check(context.Background(), r); !d.Allow {
			t.Fatalf("%s (%s)", d.Reason, d.Message)
		}
	})
}
