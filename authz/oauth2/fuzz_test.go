package oauth2

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenEndpoint throws arbitrary bodies, content types and
// Authorization headers at /oauth2/token and /oauth2/revoke. Whatever
// arrives, the answer is one of RFC 6749's statuses with a JSON body, and a
// token is only ever issued to a client that proved the fake's secret.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("/oauth2/token", "application/x-www-form-urlencoded", "Basic cnc6cnctc2VjcmV0", "grant_type=client_credentials")
	f.Add("/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=rw&client_secret=rw-secret&scope=orders:read")
	f.Add("/oauth2/token", "application/x-www-form-urlencoded; charset=UTF-8", "basic cm86cCUyQiUyNXM=", "grant_type=client_credentials&scope=orders:write")
	f.Add("/oauth2/token", "application/json", "Basic ???", `{"grant_type":"client_credentials"}`)
	f.Add("/oauth2/token", "application/x-www-form-urlencoded", "Bearer x", "grant_type=password&grant_type=client_credentials")
	f.Add("/oauth2/revoke", "application/x-www-form-urlencoded", "Basic cnc6cnctc2VjcmV0", "token=abc&token_type_hint=access_token")
	f.Add("/oauth2/token", "multipart/form-data; boundary=x", "", "--x\r\n\r\n--x--")
	f.Fuzz(func(t *testing.T, path, contentType, authorization, body string) {
		if path != "/oauth2/revoke" {
			path = "/oauth2/token"
		}
		h := New(newFake())
		mux := http.NewServeMux()
		h.Register(mux)
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.RemoteAddr = "10.0.0.5:41000"
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", authorization)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)

		switch rec.Code {
		case 200, 400, 401, 429, 503:
		default:
			t.Fatalf("status %d for %q %q %q", rec.Code, contentType, authorization, body)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("401 without WWW-Authenticate")
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("cache-control %q, want no-store", rec.Header().Get("Cache-Control"))
		}
		if rec.Body.Len() == 0 {
			if path == "/oauth2/revoke" && rec.Code == 200 {
				return // RFC 7009: an empty 200 is a valid revoke answer
			}
			t.Fatalf("status %d with an empty body", rec.Code)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
		}
		if rec.Code != 200 {
			if _, ok := out["error"].(string); !ok {
				t.Fatalf("status %d without an error code: %s", rec.Code, rec.Body.String())
			}
			return
		}
		if path == "/oauth2/token" {
			tok, _ := out["access_token"].(string)
			if tok == "" || out["token_type"] != "Bearer" {
				t.Fatalf("200 without a bearer token: %s", rec.Body.String())
			}
			// Only the fake's active clients with their right secrets get here.
			if !strings.Contains(authorization+body, "rw") && !strings.Contains(authorization+body, "ro") &&
				!strings.Contains(strings.ToLower(authorization), "basic") {
				t.Fatalf("token issued without credentials: %q %q", authorization, body)
			}
		}
	})
}
