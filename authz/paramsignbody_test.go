package authz

import (
	"context"
	"strings"
	"testing"
)

// TestBodyMerelyMentioningSign: a body is a parameter signature only when
// it carries both appKey and sign; payload fields that are or contain
// "sign" must not refuse a request authenticated by its X-App-Key.
func TestBodyMerelyMentioningSign(t *testing.T) {
	form, js := "application/x-www-form-urlencoded", "application/json"
	post := func(ctype, body string, edit ...func(*Request)) *Request {
		r := req("POST", "/x", map[string]string{"content-type": ctype, "x-app-key": "k1"}, api("sig-or-key"))
		r.Body = []byte(body)
		for _, e := range edit {
			e(r)
		}
		return r
	}
	truncated := func(r *Request) { r.BodyTruncated = true }
	many := strings.Repeat("f=1&", 200)
	tests := []struct {
		name   string
		req    *Request
		reason Reason
	}{
		{"json with a sign member and an array", post(js, `{"sign":"leo","tags":["a"]}`), ReasonOK},
		{"json with only a sign member", post(js, `{"sign":"leo"}`), ReasonOK},
		{"json naming appKey only inside a value", post(js, `{"sign":"leo","note":"appKey"}`), ReasonOK},
		{"json with appKey and sign nested, not top level", post(js, `{"data":{"appKey":"k","sign":"s"}}`), ReasonOK},
		{"truncated json with sign only", post(js, `{"sign":"leo","tags":[`, truncated), ReasonOK},
		{"form with designer and a bad escape", post(form, "designer=bob&discount=50%"), ReasonOK},
		{"form with sign but no appKey", post(form, "sign=leo&tags=a"), ReasonOK},
		{"form with designer, many fields", post(form, many+"designer=bob"), ReasonOK},
		{"truncated form with designer", post(form, "designer=bob&x=", truncated), ReasonOK},

		// Both names: a signature attempt, checked as before.
		{"json envelope with an array member", post(js, `{"appKey":"k1","sign":"x","tags":["a"]}`), ReasonBadRequest},
		{"json envelope, wrong signature", post(js, `{"appKey":"k1","sign":"x"}`), ReasonInvalidSignature},
		{"truncated json envelope", post(js, `{"appKey":"k1","sign":"x","data":"`, truncated), ReasonBodyTooLarge},
		{"form signature, wrong", post(form, "appKey=k1&sign=x&a=1"), ReasonInvalidSignature},
		{"form signature with encoded names, wrong", post(form, "app%4Bey=k1&%73ign=x"), ReasonInvalidSignature},
		{"form signature with a bad escape", post(form, "appKey=k1&sign=x&a=50%"), ReasonBadRequest},
		{"form signature, too many fields", post(form, many+"appKey=k1&sign=x"), ReasonBadRequest},
		{"truncated form signature", post(form, "appKey=k1&sign=x&a=", truncated), ReasonBodyTooLarge},
		{"query signature with a bad escape elsewhere", post(form, "a=1", func(r *Request) { r.RawQuery = "q=50%&appKey=k1&sign=x" }), ReasonBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A signature attempt is tried before the key header (it is
			// detected first), so its faults surface; anything else is
			// allowed by the key.
			d := sigEngine(sigFixture(), testNow).Check(context.Background(), tc.req)
			if d.Reason != tc.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if d.Allow && d.Identity.Method != MethodKey {
				t.Errorf("allowed by %s, want key", d.Identity.Method)
			}
		})
	}
}

func TestFormIsSigned(t *testing.T) {
	for body, want := range map[string]bool{
		"appKey=k&sign=s":         true,
		"sign=s&x=1&appKey=":      true,
		"app%4Bey=k&%73ign=s":     true,
		"appKey&sign":             true,
		"sign=s":                  false,
		"appKey=k":                false,
		"designer=sign&appKeys=k": false,
		"app+Key=k&sign=s":        false,
		"":                        false,
	} {
		if got := formIsSigned([]byte(body)); got != want {
			t.Errorf("formIsSigned(%q) = %v, want %v", body, got, want)
		}
	}
}
