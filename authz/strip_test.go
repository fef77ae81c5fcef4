package authz

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// upstreamView applies an allow decision the way Envoy does — header
// mutations, then headers_to_remove by exact (lowercase) name, then
// query_parameters_to_remove by raw, case-sensitive name — and returns the
// headers and raw query the upstream receives.
func upstreamView(r *Request, d Decision) (map[string]string, string) {
	h := maps.Clone(r.Headers)
	for _, s := range d.HeadersToSet {
		h[s.Name] = s.Value
	}
	for _, name := range d.HeadersToRemove {
		delete(h, name)
	}
	if len(d.QueryToRemove) == 0 {
		return h, r.RawQuery
	}
	var kept []string
	for _, pair := range strings.Split(r.RawQuery, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if pair != "" && !slices.Contains(d.QueryToRemove, name) {
			kept = append(kept, pair)
		}
	}
	return h, strings.Join(kept, "&")
}

// assertNoCredentialUpstream fails when anything the upstream would read
// as a credential or as an identity header survives an allow: a credential
// header or query parameter in any spelling authzd knows, or an
// x-appauthz-* header (also with '_' for '-') that authzd did not set.
func assertNoCredentialUpstream(t *testing.T, r *Request, d Decision) {
	t.Helper()
	h, q := upstreamView(r, d)
	for name, v := range h {
		folded := strings.ReplaceAll(name, "_", "-")
		if slices.Contains(credentialHeaders, folded) {
			t.Errorf("credential header %s: %q reaches the upstream", name, v)
		}
		if strings.HasPrefix(folded, headerPrefix) && !slices.ContainsFunc(d.HeadersToSet, func(s HeaderValue) bool { return s.Name == name && s.Value == v }) {
			t.Errorf("client-sent identity header %s: %q reaches the upstream", name, v)
		}
	}
	params, _ := parsePairs(q)
	for _, p := range params {
		if IsCredentialParam(p.Name) {
			t.Errorf("credential query parameter %s (sent as %s) reaches the upstream: %q", p.Name, p.RawName, q)
		}
	}
}

func TestStripEveryCredential(t *testing.T) {
	h := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		req     *Request
		reason  Reason
		method  Method
		removeH []string
		removeQ []string
	}{
		// Finding 3: the unused credential goes too.
		{"key used, appcode header beside it", req("GET", "/x", h("x-app-key", "k1", "authorization", "APPCODE CODE1"), api("keyonly")),
			ReasonOK, MethodKey, []string{"authorization", "x-app-key"}, nil},
		{"appcode used, key header beside it", req("GET", "/x", h("x-app-key", "k1", "authorization", "APPCODE CODE1"), api("hdr")),
			ReasonOK, MethodAppCode, []string{"authorization", "x-app-key"}, nil},
		{"key used, malformed bearer beside it", req("GET", "/x", h("x-app-key", "k1", "authorization", "Bearer"), api("keyonly")),
			ReasonOK, MethodKey, []string{"authorization", "x-app-key"}, nil},
		{"key used, unknown scheme and proxy-authorization", req("GET", "/x", h("x-app-key", "k1", "authorization", "Basic Zm9vOmJhcg==", "proxy-authorization", "Negotiate abc"), api("keyonly")),
			ReasonOK, MethodKey, []string{"authorization", "proxy-authorization", "x-app-key"}, nil},
		{"query key used, header code and query code beside it", req("GET", "/x?appKey=k1&AppCode=CODE1&page=2", h("authorization", "APPCODE CODE2"), api("keyonly")),
			ReasonOK, MethodKey, []string{"authorization"}, []string{"appKey", "AppCode"}},
		{"key used, stray signature parameters", req("GET", "/x?sign=zz&apiTimestamp=1&signMethod=MD5", h("x-app-key", "k1"), api("keyonly")),
			ReasonOK, MethodKey, []string{"x-app-key"}, []string{"sign", "apiTimestamp", "signMethod"}},

		// Finding 2: the raw spelling is what Envoy removes.
		{"encoded appKey name", req("GET", "/x?app%4Bey=k1", nil, api("keyonly")),
			ReasonOK, MethodKey, nil, []string{"app%4Bey"}},
		{"encoded AppCode name", req("GET", "/orders?%41ppCode=CODE1", nil, api("orders")),
			ReasonOK, MethodAppCode, nil, []string{"%41ppCode"}},
		{"plain and encoded appKey, same value", req("GET", "/x?appKey=k1&app%4bey=k1&%61ppKey=k1", nil, api("keyonly")),
			ReasonOK, MethodKey, nil, []string{"appKey", "app%4bey", "%61ppKey"}},
		{"plain and encoded appKey, different values", req("GET", "/x?appKey=k1&app%4Bey=k2", nil, api("keyonly")),
			ReasonBadRequest, "", nil, nil},
		{"plain and encoded AppCode, different values", req("GET", "/orders?AppCode=CODE1&%61ppcode=CODE2", nil, api("orders")),
			ReasonBadRequest, "", nil, nil},
		{"encoded key header and query disagree", req("GET", "/x?app%4Bey=k2", h("x-app-key", "k1"), api("keyonly")),
			ReasonBadRequest, "", nil, nil},
		{"encoded stray AppCode beside a key", req("GET", "/x?%41pp%43ode=nope&q=1", h("x-app-key", "k1"), api("keyonly")),
			ReasonOK, MethodKey, []string{"x-app-key"}, []string{"%41pp%43ode"}},

		// Finding 7: identity headers in any spelling, never the ones set.
		{"underscore spellings", req("GET", "/x", h("x-app-key", "k1", "x_appauthz_app_id", "evil", "x-appauthz_app-id", "evil", "x_appauthz-api", "evil",
			"x-appauthz-app-id", "evil", "x-appauthz-whatever", "evil", "x_app_key", "k2", "proxy_authorization", "x", "x-app_key", "k3"), api("keyonly")),
			ReasonOK, MethodKey, []string{"proxy_authorization", "x-app-key", "x-app_key", "x-appauthz-whatever", "x-appauthz_app-id", "x_app_key", "x_appauthz-api", "x_appauthz_app_id"}, nil},
		{"underscore lookalikes that are not identity headers stay", req("GET", "/x", h("x-app-key", "k1", "x_appauthzapp", "v", "x-appauth-z", "v", "my_authorization", "v"), api("keyonly")),
			ReasonOK, MethodKey, []string{"x-app-key"}, nil},

		// Finding 10: a bad escape elsewhere does not matter.
		{"malformed unrelated parameter, key in header", req("GET", "/x?q=50%", h("x-app-key", "k1"), api("keyonly")),
			ReasonOK, MethodKey, []string{"x-app-key"}, nil},
		{"malformed unrelated parameter, key in query", req("GET", "/x?q=50%&appKey=k1&r=%zz", nil, api("keyonly")),
			ReasonOK, MethodKey, nil, []string{"appKey"}},
		{"malformed appKey", req("GET", "/x?appKey=k1%", nil, api("keyonly")),
			ReasonBadRequest, "", nil, nil},
		{"malformed encoded appKey", req("GET", "/x?app%4Bey=k1%zz", nil, api("keyonly")),
			ReasonBadRequest, "", nil, nil},
		{"malformed unused AppCode beside a key header", req("GET", "/x?AppCode=%zz", h("x-app-key", "k1"), api("keyonly")),
			ReasonBadRequest, "", nil, nil},
		{"too many parameters", req("GET", "/x?"+strings.Repeat("a=1&", MaxQueryParams+1), h("x-app-key", "k1"), api("keyonly")),
			ReasonBadRequest, "", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewEngine(fixture(), WithClock(func() time.Time { return testNow })).Check(context.Background(), tc.req)
			if d.Reason != tc.reason {
				t.Fatalf("reason = %s (%s), want %s", d.Reason, d.Message, tc.reason)
			}
			if !d.Allow {
				return
			}
			if d.Identity.Method != tc.method {
				t.Errorf("method = %s, want %s", d.Identity.Method, tc.method)
			}
			if !slices.Equal(d.HeadersToRemove, tc.removeH) {
				t.Errorf("headers to remove = %v, want %v", d.HeadersToRemove, tc.removeH)
			}
			if !slices.Equal(d.QueryToRemove, tc.removeQ) {
				t.Errorf("query to remove = %v, want %v", d.QueryToRemove, tc.removeQ)
			}
			assertNoCredentialUpstream(t, tc.req, d)
			if _, q := upstreamView(tc.req, d); len(tc.removeQ) == 0 && q != tc.req.RawQuery {
				t.Errorf("the query was rewritten: %q, sent %q", q, tc.req.RawQuery)
			}
		})
	}
}
