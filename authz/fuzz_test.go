package authz

import (
	"context"
	"strings"
	"testing"
)

// FuzzCheckCredentials feeds arbitrary Authorization values, query strings
// and key headers through credential detection and a full Check. It must
// never panic and never allow anything but a known credential.
func FuzzCheckCredentials(f *testing.F) {
	f.Add("APPCODE CODE1", "", "")
	f.Add("appcode", "AppCode=CODE1", "")
	f.Add("", "appKey=k1&appKey=k1", "k1")
	f.Add("Bearer x", "appcode=%zz", "")
	f.Add("hmac appkey=\"k1\", algorithm=\"hmac-sha256\"", "sign=abc&appKey=k1", "")
	f.Add("APPCODE CODE1", "app%4Bey=k1&%41ppCode=x&q=50%", "k1")
	f.Fuzz(func(t *testing.T, authorization, rawQuery, appKey string) {
		r := req("GET", "/orders", map[string]string{}, api("orders"))
		r.RawQuery = rawQuery
		if authorization != "" {
			r.Headers["authorization"] = authorization
		}
		if appKey != "" {
			r.Headers["x-app-key"] = appKey
		}
		d := NewEngine(fixture()).Check(context.Background(), r)
		if !d.Reason.Known() || d.Message == "" {
			t.Fatalf("unknown reason or empty message: %+v", d)
		}
		if d.Allow && d.Identity.AppID != "app1" {
			t.Fatalf("allowed an app that has no valid credential: %+v", d)
		}
		if d.Allow {
			// Whatever was sent, nothing that reads as a credential is
			// left for the upstream once Envoy applied the answer.
			assertNoCredentialUpstream(t, r, d)
			_, code := authScheme(authorization)
			validCode := strings.EqualFold(strings.Fields(authorization + " x")[0], "appcode") && code == "CODE1"
			if !validCode && appKey != "k1" && appKey != "kw" && !strings.Contains(rawQuery, "=") {
				t.Fatalf("allowed without a valid credential: %+v", d)
			}
		}
	})
}
