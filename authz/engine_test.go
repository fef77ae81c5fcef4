package authz

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fixture is a small world of apps, keys and APIs shared by the core tests.
func fixture() *fakeStore {
	f := newFakeStore()
	f.apis["orders"] = &API{ID: "orders", Methods: []Method{MethodAppCode, MethodKey}, AppCodeMode: AppCodeHeaderQuery, Access: AccessAuthorized}
	f.apis["hdr"] = &API{ID: "hdr", Methods: []Method{MethodAppCode, MethodKey}, AppCodeMode: AppCodeHeader, Access: AccessAuthenticated}
	f.apis["nocode"] = &API{ID: "nocode", Methods: []Method{MethodAppCode, MethodKey}, AppCodeMode: AppCodeDisabled, Access: AccessAuthenticated}
	f.apis["keyonly"] = &API{ID: "keyonly", Methods: []Method{MethodKey}, Access: AccessAuthenticated}
	f.apis["scoped"] = &API{ID: "scoped", Methods: []Method{MethodAppCode, MethodKey}, AppCodeMode: AppCodeHeader, Access: AccessAuthenticated, Scopes: []string{"orders:write"}}
	f.apis["v2"] = &API{ID: "v2", Methods: []Method{MethodKey}, Access: AccessAuthenticated}
	f.routes = []Route{
		{API: "orders", PathPrefix: "/orders"},
		{API: "v2", Host: "api.example.com", PathPrefix: "/orders/v2"},
	}
	f.apps["app1"] = &App{ID: "app1", Name: "App One", Status: StatusActive}
	f.apps["app2"] = &App{ID: "app2", Name: "Disabled", Status: StatusDisabled}
	f.apps["app3"] = &App{ID: "app3", Name: "Lapsed", Status: StatusActive}
	f.keys["k1"] = &Key{KeyID: "kid_k1", AppID: "app1", Secret: "s1", Scopes: []string{"orders:read"}, Status: StatusActive}
	f.keys["k2"] = &Key{KeyID: "kid_k2", AppID: "app2", Secret: "s2", Status: StatusActive}
	f.keys["k3"] = &Key{KeyID: "kid_k3", AppID: "app1", Secret: "s3", Status: StatusActive, ExpiresAt: ExpiryAt(testNow.Add(-time.Second))}
	f.keys["k4"] = &Key{KeyID: "kid_k4", AppID: "app1", Secret: "s4", Status: StatusDisabled}
	f.keys["k5"] = &Key{KeyID: "kid_k5", AppID: "app3", Secret: "s5", Status: StatusActive}
	f.keys["kw"] = &Key{KeyID: "kid_kw", AppID: "app1", Secret: "sw", Scopes: []string{"orders:read", "orders:write"}, Status: StatusActive}
	f.keys["ghost"] = &Key{KeyID: "kid_ghost", AppID: "deleted-app", Status: StatusActive}
	f.appcodes[HashAppCode("CODE1")] = &AppCodeRecord{AppID: "app1", Status: StatusActive}
	f.appcodes[HashAppCode("CODE2")] = &AppCodeRecord{AppID: "app2", Status: StatusDisabled}
	f.grant("orders", "RELEASE", "app1", &Grant{})
	f.grant("orders", "RELEASE", "app2", &Grant{})
	f.grant("orders", "RELEASE", "app3", &Grant{ExpiresAt: ExpiryAt(testNow)})
	f.grant("orders", "TEST", "app1", &Grant{ExpiresAt: ExpiryAt(testNow.Add(time.Hour))})
	return f
}

func req(method, path string, headers map[string]string, ctx map[string]string) *Request {
	p, q := SplitPath(path)
	if headers == nil {
		headers = map[string]string{}
	}
	return &Request{Method: method, Host: "api.example.com", Path: p, RawQuery: q, Headers: headers, Context: ctx}
}

func api(id string) map[string]string { return map[string]string{"api": id} }

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		req     *Request
		reason  Reason
		appID   string
		method  Method
		removeH []string
		removeQ []string
	}{
		{"appcode header", req("GET", "/orders", map[string]string{"authorization": "APPCODE CODE1"}, api("orders")),
			ReasonOK, "app1", MethodAppCode, []string{"authorization"}, nil},
		{"appcode header scheme in lower case", req("GET", "/orders", map[string]string{"authorization": "appcode  CODE1 "}, api("orders")),
			ReasonOK, "app1", MethodAppCode, []string{"authorization"}, nil},
		{"appcode query, seed spelling", req("GET", "/orders?AppCode=CODE1&x=1", nil, api("orders")),
			ReasonOK, "app1", MethodAppCode, nil, []string{"AppCode"}},
		{"appcode query, lower case name", req("GET", "/orders?appcode=CODE1", nil, api("orders")),
			ReasonOK, "app1", MethodAppCode, nil, []string{"appcode"}},
		{"appcode query, two spellings same value", req("GET", "/orders?APPCODE=CODE1&appCode=CODE1", nil, api("orders")),
			ReasonOK, "app1", MethodAppCode, nil, []string{"APPCODE", "appCode"}},
		{"appcode query, two different values", req("GET", "/orders?APPCODE=CODE1&appCode=CODE2", nil, api("orders")),
			ReasonBadRequest, "", "", nil, nil},
		{"appcode query in header mode", req("GET", "/x?AppCode=CODE1", nil, api("hdr")),
			ReasonAppCodeInQueryNotAllowed, "", "", nil, nil},
		{"appcode header in header mode, stray query code stripped", req("GET", "/x?appcode=zzz", map[string]string{"authorization": "APPCODE CODE1"}, api("hdr")),
			ReasonOK, "app1", MethodAppCode, []string{"authorization"}, []string{"appcode"}},
		{"appcode ignored in disabled mode", req("GET", "/x", map[string]string{"authorization": "APPCODE CODE1"}, api("nocode")),
			ReasonMissingCredential, "", "", nil, nil},
		{"appcode query ignored in disabled mode", req("GET", "/x?AppCode=CODE1", nil, api("nocode")),
			ReasonMissingCredential, "", "", nil, nil},
		{"appcode on key-only API", req("GET", "/x", map[string]string{"authorization": "APPCODE CODE1"}, api("keyonly")),
			ReasonMissingCredential, "", "", nil, nil},
		{"unknown appcode", req("GET", "/orders", map[string]string{"authorization": "APPCODE nope"}, api("orders")),
			ReasonInvalidAppCode, "", "", nil, nil},
		{"empty appcode", req("GET", "/orders", map[string]string{"authorization": "APPCODE"}, api("orders")),
			ReasonBadRequest, "", "", nil, nil},
		{"disabled app by appcode", req("GET", "/orders", map[string]string{"authorization": "APPCODE CODE2"}, api("orders")),
			ReasonAppDisabled, "app2", "", nil, nil},
		{"key header", req("POST", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")),
			ReasonOK, "app1", MethodKey, []string{"x-app-key"}, nil},
		{"key query", req("GET", "/orders?appKey=k1&b=2", nil, api("orders")),
			ReasonOK, "app1", MethodKey, nil, []string{"appKey"}},
		{"key header and query disagree", req("GET", "/orders?appKey=k2", map[string]string{"x-app-key": "k1"}, api("orders")),
			ReasonBadRequest, "", "", nil, nil},
		{"unknown key", req("GET", "/orders", map[string]string{"x-app-key": "nope"}, api("orders")),
			ReasonUnknownAppKey, "", "", nil, nil},
		{"expired key", req("GET", "/orders", map[string]string{"x-app-key": "k3"}, api("orders")),
			ReasonUnknownAppKey, "", "", nil, nil},
		{"disabled key", req("GET", "/orders", map[string]string{"x-app-key": "k4"}, api("orders")),
			ReasonAppDisabled, "app1", "", nil, nil},
		{"disabled app by key", req("GET", "/orders", map[string]string{"x-app-key": "k2"}, api("orders")),
			ReasonAppDisabled, "app2", "", nil, nil},
		{"key of a deleted app", req("GET", "/orders", map[string]string{"x-app-key": "ghost"}, api("orders")),
			ReasonUnknownAppKey, "deleted-app", "", nil, nil},
		{"empty key header", req("GET", "/orders", map[string]string{"x-app-key": ""}, api("orders")),
			ReasonBadRequest, "", "", nil, nil},
		{"no credential", req("GET", "/orders", map[string]string{"authorization": "Basic Zm9vOmJhcg=="}, api("orders")),
			ReasonMissingCredential, "", "", nil, nil},
		{"grant expired", req("GET", "/orders", map[string]string{"x-app-key": "k5"}, api("orders")),
			ReasonGrantExpired, "app3", "", nil, nil},
		{"grant on other stage only", req("GET", "/orders", map[string]string{"x-app-key": "k5"}, map[string]string{"api": "orders", "stage": "TEST"}),
			ReasonNotAuthorized, "app3", "", nil, nil},
		{"grant on named stage", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, map[string]string{"api": "orders", "stage": "TEST"}),
			ReasonOK, "app1", MethodKey, []string{"x-app-key"}, nil},
		{"missing scope", req("GET", "/x", map[string]string{"x-app-key": "k1"}, api("scoped")),
			ReasonInsufficientScope, "app1", "", nil, nil},
		{"scope held", req("GET", "/x", map[string]string{"x-app-key": "kw"}, api("scoped")),
			ReasonOK, "app1", MethodKey, []string{"x-app-key"}, nil},
		{"appcode is exempt from scopes", req("GET", "/x", map[string]string{"authorization": "APPCODE CODE1"}, api("scoped")),
			ReasonOK, "app1", MethodAppCode, []string{"authorization"}, nil},
		{"unknown API by name", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("missing")),
			ReasonUnknownAPI, "", "", nil, nil},
		{"route table", req("GET", "/orders/7", map[string]string{"x-app-key": "k1"}, nil),
			ReasonOK, "app1", MethodKey, []string{"x-app-key"}, nil},
		{"route table, longer prefix wins", req("GET", "/orders/v2/7", map[string]string{"x-app-key": "k2"}, nil),
			ReasonAppDisabled, "app2", "", nil, nil},
		{"route table, no match", req("GET", "/ordersheet", map[string]string{"x-app-key": "k1"}, nil),
			ReasonUnknownAPI, "", "", nil, nil},
		{"bad query encoding", req("GET", "/orders?appKey=%zz", nil, api("orders")),
			ReasonBadRequest, "", "", nil, nil},
		{"spoofed identity headers removed", req("GET", "/orders", map[string]string{"x-app-key": "k1", "x-appauthz-app-id": "admin", "x-appauthz-key": "kw", "x-appauthz-role": "root"}, api("orders")),
			ReasonOK, "app1", MethodKey, []string{"x-app-key", "x-appauthz-role"}, nil},
		{"spoofed key header removed for appcode", req("GET", "/orders", map[string]string{"authorization": "APPCODE CODE1", "x-appauthz-key": "kw"}, api("orders")),
			ReasonOK, "app1", MethodAppCode, []string{"authorization", "x-appauthz-key"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(fixture(), WithClock(func() time.Time { return testNow }))
			d := e.Check(context.Background(), tc.req)
			if d.Reason != tc.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if d.Allow != (tc.reason == ReasonOK) {
				t.Fatalf("allow = %v for reason %s", d.Allow, d.Reason)
			}
			if d.Message == "" {
				t.Errorf("empty message")
			}
			if d.Identity.AppID != tc.appID {
				t.Errorf("app id = %q, want %q", d.Identity.AppID, tc.appID)
			}
			if !d.Allow {
				if len(d.HeadersToSet) > 0 || len(d.HeadersToRemove) > 0 || len(d.QueryToRemove) > 0 {
					t.Errorf("deny carries mutations: %+v", d)
				}
				return
			}
			if d.Identity.Method != tc.method {
				t.Errorf("method = %q, want %q", d.Identity.Method, tc.method)
			}
			if !slices.Equal(d.HeadersToRemove, tc.removeH) {
				t.Errorf("headers to remove = %q, want %q", d.HeadersToRemove, tc.removeH)
			}
			if !slices.Equal(d.QueryToRemove, tc.removeQ) {
				t.Errorf("query to remove = %q, want %q", d.QueryToRemove, tc.removeQ)
			}
			set := map[string]string{}
			for _, h := range d.HeadersToSet {
				set[h.Name] = h.Value
				if slices.Contains(d.HeadersToRemove, h.Name) {
					t.Errorf("header %s both set and removed", h.Name)
				}
			}
			if set[HeaderAppID] != tc.appID || set[HeaderMethod] != string(tc.method) || set[HeaderAPI] != d.Identity.API || set[HeaderAppName] == "" {
				t.Errorf("identity headers = %v", set)
			}
			if _, hasKey := set[HeaderKey]; hasKey != (tc.method != MethodAppCode) {
				t.Errorf("x-appauthz-key presence wrong for %s: %v", tc.method, set)
			}
			// The key header carries the key id, never an app_key (a
			// credential on any API that accepts key).
			if v, hasKey := set[HeaderKey]; hasKey && (v != d.Identity.KeyID || !strings.HasPrefix(v, "kid_")) {
				t.Errorf("x-appauthz-key = %q, want the key id %q", v, d.Identity.KeyID)
			}
		})
	}
}

func TestCheckStoreDownFailsClosed(t *testing.T) {
	f := fixture()
	f.err = errRedisDown
	e := NewEngine(f)
	for _, r := range []*Request{
		req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")),
		req("GET", "/orders", map[string]string{"authorization": "APPCODE CODE1"}, nil),
	} {
		d := e.Check(context.Background(), r)
		if d.Allow || d.Reason != ReasonStoreUnavailable || d.Status() != 503 {
			t.Fatalf("store down: got %+v", d)
		}
	}
}

func TestCheckDeadlineFailsClosed(t *testing.T) {
	e := NewEngine(fixture())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := e.Check(ctx, req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")))
	if d.Allow || d.Reason != ReasonStoreUnavailable {
		t.Fatalf("cancelled context: got %+v", d)
	}
}

func TestCheckRoundTrips(t *testing.T) {
	tests := []struct {
		name                string
		req                 *Request
		lookups, principals int
	}{
		{"allow by named API", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("orders")), 1, 1},
		{"allow by route", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, nil), 1, 1},
		{"unknown key costs one", req("GET", "/orders", map[string]string{"x-app-key": "zz"}, api("orders")), 1, 0},
		{"unknown API costs one", req("GET", "/orders", map[string]string{"x-app-key": "k1"}, api("zz")), 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture()
			NewEngine(f).Check(context.Background(), tc.req)
			if f.lookups != tc.lookups || f.principals != tc.principals {
				t.Fatalf("round trips: lookup %d principal %d, want %d %d", f.lookups, f.principals, tc.lookups, tc.principals)
			}
		})
	}
}

func TestDenyChallenges(t *testing.T) {
	e := NewEngine(fixture())
	d := e.Check(context.Background(), req("GET", "/orders", nil, api("orders")))
	if d.Status() != 401 || len(d.ResponseHeaders) == 0 || d.ResponseHeaders[0].Name != "www-authenticate" || !strings.HasPrefix(d.ResponseHeaders[0].Value, "APPCODE") {
		t.Fatalf("401 without APPCODE challenge: %+v", d)
	}
	d = e.Check(context.Background(), req("GET", "/orders", map[string]string{"x-app-key": "k2"}, api("orders")))
	if d.Status() != 403 || len(d.ResponseHeaders) != 0 {
		t.Fatalf("403 must carry no challenge: %+v", d)
	}
}

func TestReasonTableComplete(t *testing.T) {
	for _, r := range AllReasons() {
		if r.HTTPStatus() < 200 || r.DefaultMessage() == "" {
			t.Errorf("%s: status %d message %q", r, r.HTTPStatus(), r.DefaultMessage())
		}
	}
	if Reason("Nope").Known() || Reason("Nope").HTTPStatus() != 403 {
		t.Errorf("unknown reason must be a 403 deny")
	}
}
