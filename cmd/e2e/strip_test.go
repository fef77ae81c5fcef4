package e2e

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
)

// upstreamRequest is what the upstream receives once Envoy applied an
// allow to the request.
type upstreamRequest struct {
	header map[string]string // lowercase names, no pseudo-headers
	path   string            // :path, query included
}

// upstream applies the OkHttpResponse to r the way Envoy does: the header
// mutations (overwrite), then headers_to_remove by exact lowercase name,
// then query_parameters_to_remove by raw, undecoded, case-sensitive name.
// Envoy also re-sorts the remaining parameters; the order is kept here, as
// no assertion depends on it.
func (o *outcome) upstream(t testing.TB, r extauthz.HTTPRequest) upstreamRequest {
	t.Helper()
	if !o.allowed {
		t.Fatalf("denied %d %s (%s): nothing goes upstream", o.status, o.reason, o.body["message"])
	}
	cr, err := extauthz.NewCheckRequest(r)
	if err != nil {
		t.Fatalf("building CheckRequest: %v", err)
	}
	h := maps.Clone(cr.GetAttributes().GetRequest().GetHttp().GetHeaders())
	path := h[":path"]
	maps.DeleteFunc(h, func(k, _ string) bool { return strings.HasPrefix(k, ":") })
	maps.Copy(h, o.set)
	for _, name := range o.removed {
		delete(h, name)
	}
	if len(o.queryGone) > 0 {
		path = removeQueryParams(path, o.queryGone)
	}
	return upstreamRequest{header: h, path: path}
}

// removeQueryParams drops from path's query every pair whose raw name (up
// to the first '=', undecoded) is one of names, as Envoy does.
func removeQueryParams(path string, names []string) string {
	base, query, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	var kept []string
	for _, pair := range strings.Split(query, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if !slices.Contains(names, name) {
			kept = append(kept, pair)
		}
	}
	if len(kept) == 0 {
		return base
	}
	return base + "?" + strings.Join(kept, "&")
}

// wantNoCredential fails when the upstream would still see a credential or
// an identity header authzd did not set: a credential header in any
// spelling ('_' for '-'), a query parameter that decodes to a credential
// name, or a client-sent x-appauthz-* header.
func (u upstreamRequest) wantNoCredential(t testing.TB, o *outcome) {
	t.Helper()
	for name, v := range u.header {
		folded := strings.ReplaceAll(name, "_", "-")
		switch {
		case folded == "authorization" || folded == "proxy-authorization" || folded == "x-app-key":
			t.Errorf("the upstream receives credential header %s: %q", name, v)
		case strings.HasPrefix(folded, "x-appauthz-") && o.set[name] != v:
			t.Errorf("the upstream receives client-sent identity header %s: %q", name, v)
		}
	}
	_, query, _ := strings.Cut(u.path, "?")
	params, err := authz.ParseQuery(query)
	if err != nil {
		t.Errorf("the upstream query %q still has a malformed credential parameter: %v", query, err)
	}
	for _, p := range params {
		if authz.IsCredentialParam(p.Name) {
			t.Errorf("the upstream receives credential parameter %s (sent as %s) in %q", p.Name, p.RawName, u.path)
		}
	}
}

type stripWorld struct {
	d         *daemon
	key, code string
}

func newStripWorld(t *testing.T) *stripWorld {
	t.Helper()
	url := startRedis(t).URL()
	shop := ctl(t, url, "app", "create", "--name", "Shop", "--id", "shop")
	ctl(t, url, "api", "create", "--id", "keyonly", "--methods", "key", "--access", "authenticated")
	ctl(t, url, "api", "create", "--id", "codes", "--methods", "appcode,key", "--appcode-mode", "header-query", "--access", "authenticated")
	ctl(t, url, "api", "create", "--id", "keysign", "--methods", "key,paramsign", "--access", "authenticated")
	return &stripWorld{d: startAuthzd(t, url), key: shop["app_key"].(string), code: shop["appcode"].(string)}
}

// TestStripEveryCredentialEndToEnd: whatever credential is used, none the
// request carried reaches the upstream, in any spelling Envoy can remove.
func TestStripEveryCredentialEndToEnd(t *testing.T) {
	w := newStripWorld(t)
	d := w.d
	allowed := func(t *testing.T, r extauthz.HTTPRequest, method string) upstreamRequest {
		t.Helper()
		o := d.check(t, r)
		o.wantAllow(t, "shop")
		if o.set["x-appauthz-method"] != method {
			t.Errorf("method %q, want %s", o.set["x-appauthz-method"], method)
		}
		u := o.upstream(t, r)
		u.wantNoCredential(t, o)
		return u
	}

	t.Run("key used, AppCode header beside it", func(t *testing.T) {
		allowed(t, withAPI(get("http://api.example.com/x", "X-App-Key", w.key, "Authorization", "APPCODE "+w.code), "keyonly"), "key")
	})
	t.Run("AppCode used, key header beside it", func(t *testing.T) {
		allowed(t, withAPI(get("http://api.example.com/x", "X-App-Key", w.key, "Authorization", "APPCODE "+w.code), "codes"), "appcode")
	})
	t.Run("key used, other schemes and proxy-authorization beside it", func(t *testing.T) {
		allowed(t, withAPI(get("http://api.example.com/x", "X-App-Key", w.key, "Authorization", "Bearer", "Proxy-Authorization", "Basic Zm9vOmJhcg=="), "keyonly"), "key")
	})
	t.Run("query key used, AppCode header and query beside it", func(t *testing.T) {
		u := allowed(t, withAPI(get("http://api.example.com/x?appKey="+w.key+"&AppCode="+w.code+"&page=2", "Authorization", "APPCODE "+w.code), "keyonly"), "key")
		if u.path != "/x?page=2" {
			t.Errorf("upstream path %q, want /x?page=2", u.path)
		}
	})
	t.Run("percent-encoded credential names", func(t *testing.T) {
		u := allowed(t, withAPI(get("http://api.example.com/x?app%4Bey="+w.key+"&page=2"), "keyonly"), "key")
		if u.path != "/x?page=2" {
			t.Errorf("upstream path %q, want /x?page=2", u.path)
		}
		u = allowed(t, withAPI(get("http://api.example.com/x?%41ppCode="+w.code+"&page=2"), "codes"), "appcode")
		if u.path != "/x?page=2" {
			t.Errorf("upstream path %q, want /x?page=2", u.path)
		}
	})
	t.Run("plain and encoded spellings together", func(t *testing.T) {
		u := allowed(t, withAPI(get("http://api.example.com/x?appKey="+w.key+"&app%4bey="+w.key+"&%61ppKey="+w.key), "keyonly"), "key")
		if u.path != "/x" {
			t.Errorf("upstream path %q, want /x", u.path)
		}
		d.check(t, withAPI(get("http://api.example.com/x?appKey="+w.key+"&app%4Bey=other"), "keyonly")).wantDeny(t, 400, "BadRequest")
		d.check(t, withAPI(get("http://api.example.com/x?AppCode="+w.code+"&%61ppcode=other"), "codes")).wantDeny(t, 400, "BadRequest")
	})
	t.Run("identity headers in underscore spellings", func(t *testing.T) {
		r := withAPI(get("http://api.example.com/x", "X-App-Key", w.key, "x_appauthz_app_id", "admin", "x-appauthz_app-id", "admin",
			"x_appauthz_scopes", "root", "x-appauthz-app-id", "admin", "x_app_key", w.key), "keyonly")
		u := allowed(t, r, "key")
		if u.header["x-appauthz-app-id"] != "shop" {
			t.Errorf("x-appauthz-app-id upstream = %q, want shop", u.header["x-appauthz-app-id"])
		}
	})
	t.Run("malformed escape in an unrelated parameter", func(t *testing.T) {
		u := allowed(t, withAPI(get("http://api.example.com/x?q=50%&r=%zz", "X-App-Key", w.key), "keyonly"), "key")
		if u.path != "/x?q=50%&r=%zz" {
			t.Errorf("the query was rewritten: %q", u.path)
		}
		u = allowed(t, withAPI(get("http://api.example.com/x?q=50%&appKey="+w.key), "keyonly"), "key")
		if u.path != "/x?q=50%" {
			t.Errorf("upstream path %q, want /x?q=50%%", u.path)
		}
		d.check(t, withAPI(get("http://api.example.com/x?appKey="+w.key+"%"), "keyonly")).wantDeny(t, 400, "BadRequest")
		d.check(t, withAPI(get("http://api.example.com/x?app%4Bey=%zz", "X-App-Key", w.key), "keyonly")).wantDeny(t, 400, "BadRequest")
	})
	t.Run("too many query parameters", func(t *testing.T) {
		o := d.check(t, withAPI(get("http://api.example.com/x?"+strings.Repeat("a=1&", authz.MaxQueryParams+1), "X-App-Key", w.key), "keyonly"))
		o.wantDeny(t, 400, "BadRequest")
		if !strings.Contains(o.body["message"], "too many query parameters") {
			t.Errorf("message %q", o.body["message"])
		}
		allowed(t, withAPI(get("http://api.example.com/x?"+strings.Repeat("a=1&", authz.MaxQueryParams-1), "X-App-Key", w.key), "keyonly"), "key")
	})
}

// TestBodyMentioningSignEndToEnd: payloads that merely contain "sign" do
// not turn a key-authenticated request into a BadRequest.
func TestBodyMentioningSignEndToEnd(t *testing.T) {
	w := newStripWorld(t)
	post := func(ctype, body string) extauthz.HTTPRequest {
		h := http.Header{}
		h.Set("Content-Type", ctype)
		h.Set("X-App-Key", w.key)
		return withAPI(extauthz.HTTPRequest{Method: "POST", URL: "http://api.example.com/x", Header: h, Body: []byte(body)}, "keysign")
	}
	for name, r := range map[string]extauthz.HTTPRequest{
		"json with sign and an array": post("application/json", `{"sign":"leo","tags":["a"]}`),
		"form with designer":          post("application/x-www-form-urlencoded", "designer=bob&discount=50%"),
		"form with sign only":         post("application/x-www-form-urlencoded", "sign=leo&tags=a"),
	} {
		t.Run(name, func(t *testing.T) {
			o := w.d.check(t, r)
			o.wantAllow(t, "shop")
			o.upstream(t, r).wantNoCredential(t, o)
		})
	}
	t.Run("a body with appKey and sign is a signature", func(t *testing.T) {
		w.d.check(t, post("application/json", `{"appKey":"`+w.key+`","sign":"00"}`)).wantDeny(t, 401, "InvalidSignature")
	})
}
