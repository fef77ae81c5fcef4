package e2e

import (
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// Method scopes fail closed: on an API with per-method rules, a method no
// rule names is refused for every key, and a '*=' rule is what lets the
// other methods through, with its own scopes.
func TestMethodScopesFailClosed(t *testing.T) {
	r := startRedis(t)
	u := r.URL()
	ctl(t, u, "app", "create", "--name", "Shop", "--id", "shop")
	ro := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read")
	rw := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read,orders:write")
	roKey, roSecret := ro["app_key"].(string), ro["app_secret"].(string)
	rwKey := rw["app_key"].(string)

	// The rules from the documentation, without and with a fallback rule.
	ctl(t, u, "api", "create", "--id", "listed", "--methods", "key,hmac", "--access", "authenticated",
		"--method-scopes", "GET,HEAD=orders:read;POST,PUT,DELETE=orders:write")
	ctl(t, u, "api", "create", "--id", "fallback", "--methods", "key,hmac", "--access", "authenticated",
		"--method-scopes", "GET,HEAD=orders:read;*=orders:write")
	if got := ctl(t, u, "api", "show", "fallback")["method_scopes"]; got != "*=orders:write;GET=orders:read;HEAD=orders:read" {
		t.Fatalf("api show: method_scopes = %v, want the '*' rule kept", got)
	}
	d := startAuthzd(t, u, "--drain-delay", "0s")

	keyReq := func(api, method, key string) extauthz.HTTPRequest {
		r := withAPI(get("http://api.example.com/orders/7", "X-App-Key", key), api)
		r.Method = method
		return r
	}
	tests := []struct {
		api, method, key string
		allow            bool
	}{
		{"listed", "GET", roKey, true},
		{"listed", "HEAD", roKey, true},
		{"listed", "POST", roKey, false},
		{"listed", "PATCH", roKey, false}, // was allowed: no rule named PATCH
		{"listed", "PATCH", rwKey, false}, // not named by any rule: refused even with every scope
		{"listed", "OPTIONS", rwKey, false},
		{"listed", "PUT", rwKey, true},
		{"fallback", "GET", roKey, true},
		{"fallback", "PATCH", roKey, false}, // '*' needs orders:write
		{"fallback", "PATCH", rwKey, true},
		{"fallback", "OPTIONS", rwKey, true},
	}
	for _, tc := range tests {
		t.Run(tc.api+" "+tc.method+" "+map[bool]string{true: "rw", false: "ro"}[tc.key == rwKey], func(t *testing.T) {
			o := d.check(t, keyReq(tc.api, tc.method, tc.key))
			if tc.allow {
				o.wantAllow(t, "shop")
				return
			}
			o.wantDeny(t, 403, "InsufficientScope")
		})
	}

	// The caller learns which methods are covered; the fix, an authzctl
	// command, is for the operator and goes to the log only.
	t.Run("unlisted method names the fix in the log", func(t *testing.T) {
		o := d.check(t, keyReq("listed", "PATCH", rwKey))
		o.wantDeny(t, 403, "InsufficientScope")
		if msg := o.body["message"]; !strings.Contains(msg, "PATCH") || strings.Contains(msg, "authzctl") || strings.Contains(msg, "'*='") {
			t.Errorf("message %q should name the method and not the operator's fix", msg)
		}
		if logs := d.logs.String(); !strings.Contains(logs, "'*=' rule") || !strings.Contains(logs, "authzctl api update listed --method-scopes") {
			t.Errorf("authzd log lacks the fix for the uncovered method:\n%s", logs)
		}
	})

	// Every key-based method follows the same rules: a signed PATCH with the
	// read-only key is refused too.
	t.Run("hmac PATCH with the read-only key", func(t *testing.T) {
		for _, api := range []string{"listed", "fallback"} {
			r := withAPI(hmacReq(t, sign.HMAC{Key: roKey, Secret: roSecret}, "PATCH", "http://api.example.com/orders/7", nil), api)
			d.check(t, r).wantDeny(t, 403, "InsufficientScope")
		}
		r := withAPI(hmacReq(t, sign.HMAC{Key: roKey, Secret: roSecret}, "GET", "http://api.example.com/orders/7", nil), "listed")
		d.check(t, r).wantAllow(t, "shop")
	})
}
