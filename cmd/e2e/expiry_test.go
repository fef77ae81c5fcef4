package e2e

import (
	"testing"
)

// TestExpiryEndToEnd: an expiry in the past, even at the Unix epoch or in
// year 1 (which used to be stored and read back as "never"), ends a grant
// or a key at once, through the real authzctl, Redis and authzd; leaving
// --expires out is what "never" means.
func TestExpiryEndToEnd(t *testing.T) {
	r := startRedis(t)
	u := r.URL()
	ctl(t, u, "api", "create", "--id", "orders", "--methods", "key,oauth2", "--access", "authorized")

	// One app per grant expiry, each with a key that never expires.
	grants := map[string]struct {
		expires []string
		echo    any // expires_at answered by grant add and grant list; nil: absent
		reason  string
	}{
		"forever": {nil, nil, ""},
		"epoch":   {[]string{"--expires", "1970-01-01T00:00:00Z"}, "1970-01-01T00:00:00Z", "GrantExpired"},
		"year1":   {[]string{"--expires", "0001-01-01T00:00:00Z"}, "0001-01-01T00:00:00Z", "GrantExpired"},
		"y9999":   {[]string{"--expires", "9999-12-31T23:59:59Z"}, "9999-12-31T23:59:59Z", ""},
	}
	appKeys := map[string]string{}
	for app, g := range grants {
		appKeys[app] = ctl(t, u, "app", "create", "--name", app, "--id", app)["app_key"].(string)
		out := ctl(t, u, append([]string{"grant", "add", "--api", "orders", "--app", app}, g.expires...)...)
		if out["expires_at"] != g.echo {
			t.Errorf("grant add --app %s %v answered expires_at %v, want %v", app, g.expires, out["expires_at"], g.echo)
		}
	}
	listed := ctl(t, u, "grant", "list", "--api", "orders")["grants"].([]any)
	for _, l := range listed {
		row := l.(map[string]any)
		app, _ := row["app_id"].(string)
		if v, ok := row["expires_at"]; v != grants[app].echo || ok != (grants[app].echo != nil) {
			t.Errorf("grant list: %s expires_at = %v (present %v), want %v", app, v, ok, grants[app].echo)
		}
	}

	// Keys of the app granted forever, one per key expiry.
	keys := map[string]struct {
		expires []string
		refused bool
	}{
		"never":  {nil, false},
		"epoch":  {[]string{"--expires", "1970-01-01T00:00:00Z"}, true},
		"year1":  {[]string{"--expires", "0001-01-01T00:00:00Z"}, true},
		"before": {[]string{"--expires", "1969-07-20T20:17:40Z"}, true},
	}
	keyOf, secretOf := map[string]string{}, map[string]string{}
	for name, k := range keys {
		out := ctl(t, u, append([]string{"key", "create", "--app", "forever"}, k.expires...)...)
		keyOf[name], secretOf[name] = out["app_key"].(string), out["app_secret"].(string)
	}
	listedKeys := ctl(t, u, "key", "list", "--app", "forever")["keys"].([]any)
	for _, l := range listedKeys {
		row := l.(map[string]any)
		for name, k := range keys {
			if row["app_key"] == keyOf[name] {
				if _, has := row["expires_at"]; has != (k.expires != nil) || has && row["expires_at"] != k.expires[1] {
					t.Errorf("key list: %s key expires_at = %v, want %v", name, row["expires_at"], k.expires)
				}
			}
		}
	}

	d := startAuthzd(t, u)
	for app, g := range grants {
		t.Run("grant "+app, func(t *testing.T) {
			o := d.check(t, withAPI(get("http://api.example.com/orders/1", "X-App-Key", appKeys[app]), "orders"))
			if g.reason == "" {
				o.wantAllow(t, app)
			} else {
				o.wantDeny(t, 403, g.reason)
			}
		})
	}
	for name, k := range keys {
		t.Run("key "+name, func(t *testing.T) {
			o := d.check(t, withAPI(get("http://api.example.com/orders/1", "X-App-Key", keyOf[name]), "orders"))
			tok := d.post(t, "/oauth2/token", grant(""), keyOf[name], secretOf[name])
			if k.refused {
				o.wantDeny(t, 401, "UnknownAppKey")
				wantOAuthError(t, tok, 401, "invalid_client")
				return
			}
			o.wantAllow(t, "forever")
			if tok.status != 200 || tok.str("access_token") == "" {
				t.Fatalf("token for a key without expiry: %d %v", tok.status, tok.body)
			}
			d.check(t, withAPI(get("http://api.example.com/orders/1", "Authorization", "Bearer "+tok.str("access_token")), "orders")).wantAllow(t, "forever")
		})
	}
}
