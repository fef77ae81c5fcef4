package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// fakeBackend is an in-memory Backend; the Redis one is tested in store.
type fakeBackend struct {
	mu       sync.Mutex
	clients  map[string]*Client
	tokens   map[string]Token
	failures map[string]int64 // "key:K" / "addr:A"
	saveErr  error
}

func newFake() *fakeBackend {
	return &fakeBackend{
		clients: map[string]*Client{
			"rw":  {AppID: "shop", KeyID: "kid_rw", KeyHash: "rw", Secret: "rw-secret", Scopes: []string{"orders:read", "orders:write"}, Status: authz.StatusActive},
			"ro":  {AppID: "shop", KeyID: "kid_ro", KeyHash: "ro", Secret: "p+%s", Scopes: []string{"orders:read"}, Status: authz.StatusActive},
			"off": {AppID: "shop", KeyID: "kid_off", KeyHash: "off", Secret: "off-secret", Status: authz.StatusDisabled},
			"old": {AppID: "shop", KeyID: "kid_old", KeyHash: "old", Secret: "old-secret", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(time.Unix(1000, 0))},
			"end": {AppID: "shop", KeyID: "kid_end", KeyHash: "end", Secret: "end-secret", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(time.Unix(2000+90, 0))},
			// Expired at the epoch and at Go's zero time: neither is "never".
			"epoch": {AppID: "shop", KeyID: "kid_epoch", KeyHash: "epoch", Secret: "epoch-secret", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(time.Unix(0, 0))},
			"year1": {AppID: "shop", KeyID: "kid_year1", KeyHash: "year1", Secret: "year1-secret", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(time.Time{})},
			"far":   {AppID: "shop", KeyID: "kid_far", KeyHash: "far", Secret: "far-secret", Status: authz.StatusActive, ExpiresAt: authz.ExpiryAt(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))},
			"sig":   {AppID: "shop", KeyID: "kid_sig", KeyHash: "sig", Secret: "sig-secret", Methods: []authz.Method{authz.MethodHMAC}, Status: authz.StatusActive},
			"oth":   {AppID: "other", KeyID: "kid_oth", KeyHash: "oth", Secret: "oth-secret", Status: authz.StatusActive},
		},
		tokens: map[string]Token{}, failures: map[string]int64{},
	}
}

func (f *fakeBackend) TokenClient(_ context.Context, appKey, source string) (*Client, Failures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := Failures{Key: Counter{f.failures["key:"+appKey], time.Minute}, Source: Counter{f.failures["addr:"+source], 30 * time.Second}}
	if c, ok := f.clients[appKey]; ok {
		cp := *c
		return &cp, fl, nil
	}
	return nil, fl, nil
}

func (f *fakeBackend) SaveToken(_ context.Context, t Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saveErr != nil {
		return f.saveErr
	}
	f.tokens[t.Hash] = t
	return nil
}

func (f *fakeBackend) RevokeToken(_ context.Context, hash, appID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tokens[hash]; ok {
		if t.AppID != appID {
			return ErrNotOwner
		}
		delete(f.tokens, hash)
	}
	return nil
}

func (f *fakeBackend) CountAuthFailure(_ context.Context, appKey, source string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures["addr:"+source]++
	if appKey != "" {
		f.failures["key:"+appKey]++
	}
	return nil
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, h *Handler, path, body string, hdr ...string) reply {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.RemoteAddr = "10.0.0.5:41000"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	r := reply{status: rec.Code, header: rec.Header()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
			t.Fatalf("%s: body %q is not JSON", path, rec.Body.String())
		}
	}
	return r
}

func basic(user, pass string) []string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return []string{"Authorization", r.Header.Get("Authorization")}
}

func TestTokenEndpoint(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := map[string]struct {
		path, body string
		hdr        []string
		status     int
		errCode    string // "" on success
		scope      string
		expiresIn  float64
	}{
		"basic":                  {body: "grant_type=client_credentials", hdr: basic("rw", "rw-secret"), status: 200, scope: "orders:read orders:write", expiresIn: 3600},
		"form fields":            {body: "grant_type=client_credentials&client_id=rw&client_secret=rw-secret", status: 200, scope: "orders:read orders:write", expiresIn: 3600},
		"basic, urlencoded":      {body: "grant_type=client_credentials", hdr: basic("ro", url.QueryEscape("p+%s")), status: 200, scope: "orders:read", expiresIn: 3600},
		"basic, raw":             {body: "grant_type=client_credentials", hdr: basic("ro", "p+%s"), status: 200, scope: "orders:read", expiresIn: 3600},
		"narrowed":               {body: "grant_type=client_credentials&scope=orders:read", hdr: basic("rw", "rw-secret"), status: 200, scope: "orders:read", expiresIn: 3600},
		"capped at key expiry":   {body: "grant_type=client_credentials", hdr: basic("end", "end-secret"), status: 200, expiresIn: 90},
		"no client auth":         {body: "grant_type=client_credentials", status: 401, errCode: ErrInvalidClient},
		"wrong secret":           {body: "grant_type=client_credentials", hdr: basic("rw", "nope"), status: 401, errCode: ErrInvalidClient},
		"unknown key":            {body: "grant_type=client_credentials", hdr: basic("zz", "rw-secret"), status: 401, errCode: ErrInvalidClient},
		"expired key":            {body: "grant_type=client_credentials", hdr: basic("old", "old-secret"), status: 401, errCode: ErrInvalidClient},
		"key expired at epoch":   {body: "grant_type=client_credentials", hdr: basic("epoch", "epoch-secret"), status: 401, errCode: ErrInvalidClient},
		"key expired in year 1":  {body: "grant_type=client_credentials", hdr: basic("year1", "year1-secret"), status: 401, errCode: ErrInvalidClient},
		"key expires in 9999":    {body: "grant_type=client_credentials", hdr: basic("far", "far-secret"), status: 200, expiresIn: 3600},
		"id without secret":      {body: "grant_type=client_credentials&client_id=rw", status: 401, errCode: ErrInvalidClient},
		"bad basic":              {body: "grant_type=client_credentials", hdr: []string{"Authorization", "Basic !!!"}, status: 401, errCode: ErrInvalidClient},
		"key not for oauth2":     {body: "grant_type=client_credentials", hdr: basic("sig", "sig-secret"), status: 401, errCode: ErrInvalidClient},
		"disabled key":           {body: "grant_type=client_credentials", hdr: basic("off", "off-secret"), status: 400, errCode: ErrUnauthorizedClient},
		"no grant_type":          {body: "scope=x", hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrInvalidRequest},
		"password grant":         {body: "grant_type=password&username=a&password=b", hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrUnsupportedGrantType},
		"both auth methods":      {body: "grant_type=client_credentials&client_id=rw&client_secret=rw-secret", hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrInvalidRequest},
		"repeated parameter":     {body: "grant_type=client_credentials&grant_type=client_credentials", hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrInvalidRequest},
		"secret in the URL":      {path: "/oauth2/token?client_secret=rw-secret", body: "grant_type=client_credentials&client_id=rw", status: 400, errCode: ErrInvalidRequest},
		"JSON body":              {body: `{"grant_type":"client_credentials"}`, hdr: append(basic("rw", "rw-secret"), "Content-Type", "application/json"), status: 400, errCode: ErrInvalidRequest},
		"bad form":               {body: "grant_type=%zz", hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrInvalidRequest},
		"scope not held":         {body: "grant_type=client_credentials&scope=orders:write", hdr: basic("ro", "p+%s"), status: 400, errCode: ErrInvalidScope},
		"scope with a bad char":  {body: "grant_type=client_credentials&scope=" + url.QueryEscape(`a"b`), hdr: basic("rw", "rw-secret"), status: 400, errCode: ErrInvalidScope},
		"form content type args": {body: "grant_type=client_credentials", hdr: append(basic("rw", "rw-secret"), "Content-Type", form+"; charset=UTF-8"), status: 200, scope: "orders:read orders:write", expiresIn: 3600},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fb := newFake()
			h := New(fb, WithClock(func() time.Time { return time.Unix(2000, 0) }))
			path := tc.path
			if path == "" {
				path = "/oauth2/token"
			}
			r := call(t, h, path, tc.body, tc.hdr...)
			if r.status != tc.status || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d cache-control %q body %v, want %d no-store", r.status, r.header.Get("Cache-Control"), r.body, tc.status)
			}
			if tc.errCode != "" {
				if r.body["error"] != tc.errCode || r.body["error_description"] == "" {
					t.Errorf("body %v, want error %s with a description", r.body, tc.errCode)
				}
				if (tc.status == 401) != strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("www-authenticate %q on %d", r.header.Get("WWW-Authenticate"), tc.status)
				}
				if len(fb.tokens) != 0 {
					t.Errorf("a token was saved on error")
				}
				return
			}
			tok, _ := r.body["access_token"].(string)
			if r.body["token_type"] != "Bearer" || len(tok) != 43 || r.body["expires_in"] != tc.expiresIn || (tc.scope != "" && r.body["scope"] != tc.scope) {
				t.Fatalf("body %v", r.body)
			}
			saved, ok := fb.tokens[authz.HashToken(tok)]
			if !ok || saved.AppID != "shop" || !strings.HasPrefix(saved.KeyID, "kid_") || saved.KeyHash == "" || saved.TTL != time.Duration(tc.expiresIn)*time.Second {
				t.Errorf("saved %+v (found %v), want the token's hash with its TTL", saved, ok)
			}
			if answered, _ := r.body["scope"].(string); strings.Join(saved.Scopes, " ") != answered {
				t.Errorf("saved scopes %v, answered %v", saved.Scopes, r.body["scope"])
			}
		})
	}
}

func TestTokenEndpointStoreErrors(t *testing.T) {
	for err, want := range map[error]struct {
		status int
		code   string
	}{
		ErrClientGone:            {401, ErrInvalidClient},
		ErrClientDisabled:        {400, ErrUnauthorizedClient},
		errors.New("redis down"): {503, ErrTemporarilyUnavailable},
	} {
		fb := newFake()
		fb.saveErr = err
		r := call(t, New(fb), "/oauth2/token", "grant_type=client_credentials", basic("rw", "rw-secret")...)
		if r.status != want.status || r.body["error"] != want.code {
			t.Errorf("SaveToken %v: %d %v, want %d %s", err, r.status, r.body, want.status, want.code)
		}
	}
}

func TestThrottling(t *testing.T) {
	fb := newFake()
	h := New(fb, WithFailureLimit(2, time.Minute), WithTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}))
	xff := func(a string) []string { return append(basic("rw", "bad"), "X-Forwarded-For", a) }
	for range 2 {
		if r := call(t, h, "/oauth2/token", "grant_type=client_credentials", xff("203.0.113.1")...); r.status != 401 {
			t.Fatalf("bad secret: %d", r.status)
		}
	}
	if fb.failures["addr:203.0.113.1"] != 2 || fb.failures["key:rw"] != 2 {
		t.Fatalf("failures %v: the forwarded address of a trusted proxy and the key must be counted", fb.failures)
	}
	good := append(basic("rw", "rw-secret"), "X-Forwarded-For", "203.0.113.2")
	r := call(t, h, "/oauth2/token", "grant_type=client_credentials", good...)
	if r.status != 429 || r.body["error"] != ErrSlowDown || r.header.Get("Retry-After") != "60" {
		t.Fatalf("right secret on a throttled key: %d %v retry-after %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	if fb.failures["key:rw"] != 2 {
		t.Errorf("a throttled attempt was counted: %v", fb.failures)
	}
	// An unknown key is counted against the address only.
	call(t, h, "/oauth2/token", "grant_type=client_credentials", append(basic("zz", "x"), "X-Forwarded-For", "203.0.113.3")...)
	if _, ok := fb.failures["key:zz"]; ok || fb.failures["addr:203.0.113.3"] != 1 {
		t.Errorf("failures %v", fb.failures)
	}
}

func TestSource(t *testing.T) {
	h := New(newFake(), WithTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}))
	for name, tc := range map[string]struct{ remote, xff, want string }{
		"direct":                  {"192.0.2.9:5000", "", "192.0.2.9"},
		"untrusted peer's XFF":    {"192.0.2.9:5000", "198.51.100.1", "192.0.2.9"},
		"trusted proxy":           {"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		"spoofed left entries":    {"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"},
		"unreadable hop":          {"10.1.2.3:5000", "garbage, 10.9.9.9", "10.9.9.9"},
		"trusted, no XFF":         {"[::1]:5000", "", "::1"},
		"v4-mapped":               {"[::ffff:192.0.2.7]:1", "", "192.0.2.7"},
		"remote addr not an addr": {"pipe", "", "unknown"},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := h.source(r); got != tc.want {
			t.Errorf("%s: source %q, want %q", name, got, tc.want)
		}
	}
}

func TestRevokeEndpoint(t *testing.T) {
	fb := newFake()
	h := New(fb)
	r := call(t, h, "/oauth2/token", "grant_type=client_credentials", basic("rw", "rw-secret")...)
	tok := r.body["access_token"].(string)
	if r := call(t, h, "/oauth2/revoke", "token="+tok, basic("oth", "oth-secret")...); r.status != 400 || r.body["error"] != ErrUnauthorizedClient {
		t.Errorf("revoke by another app: %d %v", r.status, r.body)
	}
	if r := call(t, h, "/oauth2/revoke", "token="+tok, basic("rw", "wrong")...); r.status != 401 {
		t.Errorf("revoke with a wrong secret: %d", r.status)
	}
	if r := call(t, h, "/oauth2/revoke", "token="+tok+"&token_type_hint=access_token", basic("ro", "p+%s")...); r.status != 200 || len(fb.tokens) != 0 {
		t.Errorf("revoke by a key of the same app: %d, %d tokens left", r.status, len(fb.tokens))
	}
	if r := call(t, h, "/oauth2/revoke", "token="+tok, basic("rw", "rw-secret")...); r.status != 200 {
		t.Errorf("revoking an unknown token: %d, want 200", r.status)
	}
	if r := call(t, h, "/oauth2/revoke", "", basic("rw", "rw-secret")...); r.status != 400 || r.body["error"] != ErrInvalidRequest {
		t.Errorf("revoke without token: %d %v", r.status, r.body)
	}
}
