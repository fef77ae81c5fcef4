package e2e

import (
	"testing"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// TestRouteNormalizationEndToEnd: API admin (host api.example.com, prefix
// /admin, needs a grant) beside a catch-all. Requests resolved through the
// route table (no context_extensions, as with Istio) in any spelling of
// /admin either reach admin — NotAuthorized, as the app has no grant — or
// are refused as BadRequest; none is allowed by the catch-all.
func TestRouteNormalizationEndToEnd(t *testing.T) {
	url := startRedis(t).URL()
	ctl(t, url, "app", "create", "--name", "Signer", "--id", "signer", "--key", sigKey, "--secret", sigSecret)
	ctl(t, url, "api", "create", "--id", "admin", "--methods", "key,hmac", "--access", "authorized", "--host", "api.example.com", "--path-prefix", "/admin")
	ctl(t, url, "api", "create", "--id", "public", "--methods", "key,hmac", "--access", "authenticated", "--path-prefix", "/")
	d := startAuthzd(t, url)
	byKey := func(u string) extauthz.HTTPRequest { return get(u, "X-App-Key", sigKey) }

	t.Run("baseline", func(t *testing.T) {
		d.check(t, byKey("http://api.example.com/public/x")).wantAllow(t, "signer")
		d.check(t, byKey("http://api.example.com/admin/users")).wantDeny(t, 403, "NotAuthorized")
	})
	for _, tc := range []struct {
		url    string
		status int
		reason string
	}{
		{"http://api.example.com//admin/users", 403, "NotAuthorized"},
		{"http://api.example.com/admin//users", 403, "NotAuthorized"},
		{"http://api.example.com/x/../admin/users", 403, "NotAuthorized"},
		{"http://api.example.com/./admin", 403, "NotAuthorized"},
		{"http://api.example.com/%2e%2E/admin", 403, "NotAuthorized"},
		{"http://api.example.com/%61dmin/users", 403, "NotAuthorized"},
		{"http://api.example.com/%61%64%6D%69%6E", 403, "NotAuthorized"},
		{"http://api.example.com./admin/users", 403, "NotAuthorized"},
		{"http://API.example.com:80/admin/users", 403, "NotAuthorized"},
		{"https://Api.Example.Com.:443/admin/users", 403, "NotAuthorized"},
		{"http://api.example.com/admin;x=1/users", 400, "BadRequest"},
		{"http://api.example.com/x/..;/admin/users", 400, "BadRequest"},
		{"http://api.example.com/admin%2Fusers", 400, "BadRequest"},
		{"http://api.example.com/admin%2fusers", 400, "BadRequest"},
		{`http://api.example.com/admin\users`, 400, "BadRequest"},
		{"http://api.example.com/x%5C..%5Cadmin", 400, "BadRequest"},
		{"http://api.example.com/%252e%252e/admin", 400, "BadRequest"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			o := d.check(t, byKey(tc.url))
			o.wantDeny(t, tc.status, tc.reason)
			if tc.reason == "NotAuthorized" && o.body["message"] == "" {
				t.Errorf("no message")
			}
		})
	}

	// Envoy hands ext_authz the path after its own normalization, and
	// signing clients sign that path: a signed request whose path is
	// already normal must verify unchanged when resolved by route.
	t.Run("signed request with a normal path", func(t *testing.T) {
		hs := sign.HMAC{Algorithm: "hmac-sha256"}
		o := d.check(t, hmacReq(t, hs, "GET", "http://api.example.com/public/items/7?b=2&a=1", nil))
		o.wantAllow(t, "signer")
		if o.set["x-appauthz-api"] != "public" || o.set["x-appauthz-method"] != "hmac" {
			t.Errorf("identity %v", o.set)
		}
		// Verified (a bad signature would be a 401 first), then refused
		// for want of a grant on admin; with one, allowed.
		d.check(t, hmacReq(t, hs, "GET", "http://api.example.com/admin/users", nil)).wantDeny(t, 403, "NotAuthorized")
		ctl(t, url, "grant", "add", "--api", "admin", "--app", "signer")
		o = d.check(t, hmacReq(t, hs, "GET", "http://api.example.com/admin/users", nil))
		o.wantAllow(t, "signer")
		if o.set["x-appauthz-api"] != "admin" {
			t.Errorf("resolved to %q, want admin", o.set["x-appauthz-api"])
		}
	})
}
