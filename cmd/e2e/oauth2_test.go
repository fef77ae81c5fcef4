package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/authz/sign"
)

// oauthWorld: app "shop" with a read-write key (back office) and a
// read-only key (clients), app "other", and an API whose scopes depend on
// the HTTP method. Every credential made is remembered for the final Redis
// dump scan.
type oauthWorld struct {
	redis              testRedis
	d                  *daemon
	rw, rwSecret       string
	rwID               string // rw's key id
	ro, roSecret       string
	other, otherSecret string
	code               string
	seen               []string // secrets, AppCodes and tokens that must never be in Redis
}

const ordersScopes = "GET,HEAD=orders:read;POST,PUT,DELETE=orders:write"

func newOAuthWorld(t *testing.T, authzdArgs ...string) *oauthWorld {
	t.Helper()
	w := &oauthWorld{redis: startRedis(t)}
	u := w.redis.URL()
	shop := ctl(t, u, "app", "create", "--name", "Shop", "--id", "shop")
	w.code = shop["appcode"].(string)
	w.seen = append(w.seen, shop["app_secret"].(string), w.code)
	rw := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read,orders:write")
	ro := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read")
	w.rw, w.rwSecret, w.rwID = rw["app_key"].(string), rw["app_secret"].(string), rw["key_id"].(string)
	w.ro, w.roSecret = ro["app_key"].(string), ro["app_secret"].(string)
	other := ctl(t, u, "app", "create", "--name", "Other", "--id", "other")
	w.other, w.otherSecret = other["app_key"].(string), other["app_secret"].(string)
	w.seen = append(w.seen, w.rwSecret, w.roSecret, w.otherSecret, other["appcode"].(string))
	// Keys usable with the key method are credentials too: only their
	// hashes may be in Redis.
	w.seen = append(w.seen, shop["app_key"].(string), w.rw, w.ro, w.other)

	ctl(t, u, "api", "create", "--id", "orders", "--methods", "appcode,key,hmac,paramsign,oauth2", "--access", "authenticated",
		"--method-scopes", ordersScopes)
	ctl(t, u, "api", "create", "--id", "keyonly", "--methods", "key", "--access", "authenticated")
	w.d = startAuthzd(t, u, append([]string{"--drain-delay", "0s"}, authzdArgs...)...)
	return w
}

// tokenReply is one answer of the token or revoke endpoint.
type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenReply) str(name string) string { s, _ := r.body[name].(string); return s }

// post sends form to path on the daemon's HTTP listener, with HTTP Basic
// when user is set, and extra headers as name, value pairs.
func (d *daemon) post(t testing.TB, path string, form url.Values, user, pass string, header ...string) tokenReply {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+d.httpAddr+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := tokenReply{status: resp.StatusCode, header: resp.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("POST %s: %d body is not JSON: %q", path, resp.StatusCode, b)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST %s: cache-control %q, want no-store", path, cc)
	}
	return r
}

func grant(scope string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// token gets a token by Basic and fails the test unless it is issued.
func (w *oauthWorld) token(t testing.TB, key, secret, scope string) string {
	t.Helper()
	r := w.d.post(t, "/oauth2/token", grant(scope), key, secret)
	if r.status != 200 || r.str("access_token") == "" || r.str("token_type") != "Bearer" {
		t.Fatalf("token for %s: %d %v", key, r.status, r.body)
	}
	w.seen = append(w.seen, r.str("access_token"))
	return r.str("access_token")
}

func bearer(method, tok string) extauthz.HTTPRequest {
	r := withAPI(get("http://api.example.com/orders/1", "Authorization", "Bearer "+tok), "orders")
	r.Method = method
	return r
}

func wantOAuthError(t *testing.T, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %v, want %d %s", r.status, r.body, status, code)
	}
	if r.str("error_description") == "" {
		t.Errorf("no error_description: %v", r.body)
	}
	if status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 without a Basic challenge: %v", r.header)
	}
}

func TestOAuth2EndToEnd(t *testing.T) {
	w := newOAuthWorld(t, "--trusted-proxies", "127.0.0.1/32")
	d := w.d

	t.Run("token by Basic, used on GET and POST", func(t *testing.T) {
		r := d.post(t, "/oauth2/token", grant(""), w.rw, w.rwSecret)
		if r.status != 200 || r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(3600) || r.str("scope") != "orders:read orders:write" {
			t.Fatalf("token: %d %v", r.status, r.body)
		}
		tok := r.str("access_token")
		w.seen = append(w.seen, tok)
		if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) != 32 {
			t.Errorf("token %q… is not 256 bits of base64url", tok[:6])
		}
		for _, m := range []string{"GET", "POST", "DELETE"} {
			o := d.check(t, bearer(m, tok))
			o.wantAllow(t, "shop")
			if o.set["x-appauthz-method"] != "oauth2" || o.set["x-appauthz-key"] != w.rwID || o.set["x-appauthz-scopes"] != "orders:read orders:write" {
				t.Errorf("%s: identity headers %v", m, o.set)
			}
			if !slices.Contains(o.removed, "authorization") {
				t.Errorf("%s: the bearer token reaches the upstream: removed %v", m, o.removed)
			}
		}
	})
	t.Run("token by form fields", func(t *testing.T) {
		f := grant("")
		f.Set("client_id", w.ro)
		f.Set("client_secret", w.roSecret)
		r := d.post(t, "/oauth2/token", f, "", "")
		if r.status != 200 || r.str("scope") != "orders:read" {
			t.Fatalf("token: %d %v", r.status, r.body)
		}
		w.seen = append(w.seen, r.str("access_token"))
		d.check(t, bearer("GET", r.str("access_token"))).wantAllow(t, "shop")
		d.check(t, bearer("POST", r.str("access_token"))).wantDeny(t, 403, "InsufficientScope")
	})
	t.Run("scope narrowing", func(t *testing.T) {
		r := d.post(t, "/oauth2/token", grant("orders:read"), w.rw, w.rwSecret)
		if r.status != 200 || r.str("scope") != "orders:read" {
			t.Fatalf("token: %d %v", r.status, r.body)
		}
		w.seen = append(w.seen, r.str("access_token"))
		o := d.check(t, bearer("GET", r.str("access_token")))
		o.wantAllow(t, "shop")
		if o.set["x-appauthz-scopes"] != "orders:read" {
			t.Errorf("scopes header %q, want the narrowed scope", o.set["x-appauthz-scopes"])
		}
		d.check(t, bearer("PUT", r.str("access_token"))).wantDeny(t, 403, "InsufficientScope")
	})

	t.Run("errors of RFC 6749 5.2", func(t *testing.T) {
		src := func(a string) []string { return []string{"X-Forwarded-For", a} } // own failure counter per case
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), "", ""), 401, "invalid_client")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), w.rw, "wrong-secret", src("192.0.2.1")...), 401, "invalid_client")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), "no-such-key", w.rwSecret, src("192.0.2.2")...), 401, "invalid_client")
		wantOAuthError(t, d.post(t, "/oauth2/token", url.Values{}, w.rw, w.rwSecret), 400, "invalid_request")
		wantOAuthError(t, d.post(t, "/oauth2/token", url.Values{"grant_type": {"password"}}, w.rw, w.rwSecret), 400, "unsupported_grant_type")
		both := grant("")
		both.Set("client_id", w.rw)
		both.Set("client_secret", w.rwSecret)
		wantOAuthError(t, d.post(t, "/oauth2/token", both, w.rw, w.rwSecret), 400, "invalid_request")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant("orders:admin"), w.rw, w.rwSecret), 400, "invalid_scope")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant("orders:write"), w.ro, w.roSecret), 400, "invalid_scope")
		wantOAuthError(t, d.post(t, "/oauth2/revoke", url.Values{}, w.rw, w.rwSecret), 400, "invalid_request")
	})

	t.Run("bad bearer tokens", func(t *testing.T) {
		o := d.check(t, bearer("GET", "bm90LWEtdG9rZW4"))
		o.wantDeny(t, 401, "InvalidToken")
		if !slices.ContainsFunc(o.denyHeader["www-authenticate"], func(v string) bool { return strings.Contains(v, `Bearer realm="appauthz", error="invalid_token"`) }) {
			t.Errorf("www-authenticate %v lacks the RFC 6750 invalid_token challenge", o.denyHeader["www-authenticate"])
		}
		d.check(t, bearer("GET", "not a token")).wantDeny(t, 400, "BadRequest")
	})
	t.Run("token on an API without oauth2", func(t *testing.T) {
		tok := w.token(t, w.rw, w.rwSecret, "")
		r := withAPI(get("http://api.example.com/k", "Authorization", "Bearer "+tok), "keyonly")
		d.check(t, r).wantDeny(t, 401, "MissingCredential")
	})

	t.Run("scopes for every method", func(t *testing.T) {
		url := "http://api.example.com/orders/7?x=1"
		for _, m := range []string{"GET", "POST", "DELETE"} {
			want := m == "GET" // the read-only key may only read
			key := withAPI(get(url, "X-App-Key", w.ro), "orders")
			key.Method = m
			hm := withAPI(hmacReq(t, sign.HMAC{Key: w.ro, Secret: w.roSecret}, m, url, nil), "orders")
			ps, err := sign.Params{Key: w.ro, Secret: w.roSecret}.SignURL(url)
			if err != nil {
				t.Fatal(err)
			}
			param := withAPI(get(ps), "orders")
			param.Method = m
			for name, r := range map[string]extauthz.HTTPRequest{"key": key, "hmac": hm, "paramsign": param} {
				t.Run(m+" "+name, func(t *testing.T) {
					o := d.check(t, r)
					if want {
						o.wantAllow(t, "shop")
					} else {
						o.wantDeny(t, 403, "InsufficientScope")
					}
				})
			}
			// The read-write key may do everything.
			rw := withAPI(get(url, "X-App-Key", w.rw), "orders")
			rw.Method = m
			d.check(t, rw).wantAllow(t, "shop")
			// An AppCode has no key and so no scopes: method scopes do not apply.
			code := withAPI(get(url, "Authorization", "APPCODE "+w.code), "orders")
			code.Method = m
			d.check(t, code).wantAllow(t, "shop")
		}
	})

	t.Run("revoke endpoint and authzctl token revoke", func(t *testing.T) {
		tok := w.token(t, w.rw, w.rwSecret, "")
		d.check(t, bearer("GET", tok)).wantAllow(t, "shop")
		wantOAuthError(t, d.post(t, "/oauth2/revoke", url.Values{"token": {tok}}, w.other, w.otherSecret), 400, "unauthorized_client")
		d.check(t, bearer("GET", tok)).wantAllow(t, "shop")
		// Another key of the same app may revoke it (rotation).
		if r := d.post(t, "/oauth2/revoke", url.Values{"token": {tok}}, w.ro, w.roSecret); r.status != 200 {
			t.Fatalf("revoke: %d %v", r.status, r.body)
		}
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
		if r := d.post(t, "/oauth2/revoke", url.Values{"token": {tok}}, w.rw, w.rwSecret); r.status != 200 {
			t.Errorf("revoking an unknown token: %d %v, want 200 (RFC 7009 §2.2)", r.status, r.body)
		}

		tok = w.token(t, w.rw, w.rwSecret, "")
		if out := ctl(t, w.redis.URL(), "token", "revoke", tok); out["revoked"] != true {
			t.Fatalf("authzctl token revoke: %v", out)
		}
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
		if out := ctl(t, w.redis.URL(), "token", "revoke", tok); out["revoked"] != false {
			t.Errorf("revoking twice: %v", out)
		}
	})

	t.Run("disabling or revoking the key or app ends its tokens", func(t *testing.T) {
		u := w.redis.URL()
		tok := w.token(t, w.rw, w.rwSecret, "")
		ctl(t, u, "key", "disable", w.rw)
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), w.rw, w.rwSecret), 400, "unauthorized_client")
		ctl(t, u, "key", "enable", w.rw)
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken") // enabling does not revive it

		tok, roTok := w.token(t, w.rw, w.rwSecret, ""), w.token(t, w.ro, w.roSecret, "")
		ctl(t, u, "app", "disable", "shop")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), w.rw, w.rwSecret), 400, "unauthorized_client")
		ctl(t, u, "app", "enable", "shop")
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
		d.check(t, bearer("GET", roTok)).wantDeny(t, 401, "InvalidToken")

		// Revoking one key ends its tokens and no other key's.
		tmp := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read")
		w.seen = append(w.seen, tmp["app_secret"].(string), tmp["app_key"].(string))
		tok, roTok = w.token(t, tmp["app_key"].(string), tmp["app_secret"].(string), ""), w.token(t, w.ro, w.roSecret, "")
		ctl(t, u, "key", "revoke", tmp["app_key"].(string))
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
		d.check(t, bearer("GET", roTok)).wantAllow(t, "shop")
		wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), tmp["app_key"].(string), tmp["app_secret"].(string), "X-Forwarded-For", "192.0.2.3"), 401, "invalid_client")
	})

	t.Run("expiry", func(t *testing.T) {
		short := startAuthzd(t, w.redis.URL(), "--token-ttl", "1s", "--drain-delay", "0s")
		r := short.post(t, "/oauth2/token", grant(""), w.ro, w.roSecret)
		if r.status != 200 || r.body["expires_in"] != float64(1) {
			t.Fatalf("token: %d %v", r.status, r.body)
		}
		tok := r.str("access_token")
		w.seen = append(w.seen, tok)
		d.check(t, bearer("GET", tok)).wantAllow(t, "shop")
		waitFor(t, 10*time.Second, "the 1s token to expire", func() bool { return !d.check(t, bearer("GET", tok)).allowed })
		d.check(t, bearer("GET", tok)).wantDeny(t, 401, "InvalidToken")
	})

	t.Run("Redis holds no usable secret, AppCode or token", func(t *testing.T) {
		scanRedisFor(t, w.redis, w.seen)
	})
}

// Failed client authentications are throttled per source address and per
// app_key; a correct secret is refused too while throttled.
func TestOAuth2Throttling(t *testing.T) {
	w := newOAuthWorld(t, "--oauth2-max-failures", "3", "--oauth2-failure-window", "1m", "--trusted-proxies", "127.0.0.1")
	d := w.d
	from := func(a string) []string { return []string{"X-Forwarded-For", "198.51.100.200, " + a} }
	for i := range 3 {
		r := d.post(t, "/oauth2/token", grant(""), w.rw, "guess-"+string(rune('a'+i)), from("203.0.113.7")...)
		wantOAuthError(t, r, 401, "invalid_client")
	}
	r := d.post(t, "/oauth2/token", grant(""), w.rw, w.rwSecret, from("203.0.113.7")...)
	wantOAuthError(t, r, 429, "slow_down")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without a Retry-After: %v", r.header)
	}
	// The key is throttled from any address...
	wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), w.rw, w.rwSecret, from("203.0.113.8")...), 429, "slow_down")
	// ...and the address for any key; other keys from other addresses pass.
	wantOAuthError(t, d.post(t, "/oauth2/token", grant(""), w.ro, w.roSecret, from("203.0.113.7")...), 429, "slow_down")
	if r := d.post(t, "/oauth2/token", grant(""), w.ro, w.roSecret, from("203.0.113.9")...); r.status != 200 {
		t.Fatalf("an untouched key from a fresh address: %d %v", r.status, r.body)
	}
	// Unknown keys count against the address only, and every counter has
	// a TTL: the failure counters cannot grow Redis.
	for range 4 {
		d.post(t, "/oauth2/token", grant(""), "no-such-key", "x", from("203.0.113.10")...)
	}
	ctx := t.Context()
	rdb := w.redis.client(t)
	var keys []string
	for _, m := range w.redis.masters(t) {
		ks, err := m.Keys(ctx, "appauthz:oauth2fail:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) != 3 { // key rw, addresses .7 and .10
		t.Errorf("failure counters %v, want the rw key's and two addresses'", keys)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
			t.Errorf("%s has TTL %v, want one within the window", k, ttl)
		}
	}
}

// Key rotation: requests signed with the old and the new key both pass
// until the old one expires; an AppCode reset ends the old code at once.
func TestKeyRotationEndToEnd(t *testing.T) {
	w := newOAuthWorld(t)
	d, u := w.d, w.redis.URL()
	expires := time.Now().Add(3 * time.Second).Truncate(time.Second).UTC()
	old := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read", "--expires", expires.Format(time.RFC3339))
	oldKey, oldSecret := old["app_key"].(string), old["app_secret"].(string)
	next := ctl(t, u, "key", "create", "--app", "shop", "--scopes", "orders:read")
	newKey, newSecret := next["app_key"].(string), next["app_secret"].(string)
	w.seen = append(w.seen, oldSecret, newSecret, oldKey, newKey)
	n := 0
	signed := func(key, secret string) extauthz.HTTPRequest {
		n++ // a fresh request line each time: the replay guard is on
		return withAPI(hmacReq(t, sign.HMAC{Key: key, Secret: secret}, "GET", fmt.Sprintf("http://api.example.com/orders/1?n=%d", n), nil), "orders")
	}
	d.check(t, signed(oldKey, oldSecret)).wantAllow(t, "shop")
	d.check(t, signed(newKey, newSecret)).wantAllow(t, "shop")
	// A token of the old key lives no longer than the key.
	r := d.post(t, "/oauth2/token", grant(""), oldKey, oldSecret)
	if r.status != 200 || r.body["expires_in"].(float64) > 3 {
		t.Fatalf("old key's token: %d %v, want expires_in at most the key's 3s", r.status, r.body)
	}
	w.seen = append(w.seen, r.str("access_token"))

	waitFor(t, 10*time.Second, "the old key to expire", func() bool { return !d.check(t, signed(oldKey, oldSecret)).allowed })
	d.check(t, signed(oldKey, oldSecret)).wantDeny(t, 401, "UnknownAppKey")
	d.check(t, signed(newKey, newSecret)).wantAllow(t, "shop")
	d.check(t, bearer("GET", r.str("access_token"))).wantDeny(t, 401, "InvalidToken")

	// AppCode reset: the old code stops at once, the new one works.
	reset := ctl(t, u, "appcode", "reset", "--app", "shop")
	code := reset["appcode"].(string)
	w.seen = append(w.seen, code)
	appcode := func(c string) extauthz.HTTPRequest {
		return withAPI(get("http://api.example.com/orders/1", "Authorization", "APPCODE "+c), "orders")
	}
	d.check(t, appcode(w.code)).wantDeny(t, 401, "InvalidAppCode")
	d.check(t, appcode(code)).wantAllow(t, "shop")
	scanRedisFor(t, w.redis, w.seen)
}

// waitFor polls cond until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
