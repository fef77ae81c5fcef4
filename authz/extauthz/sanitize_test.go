package extauthz

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/appauthz/appauthz/authz"
)

func TestHeaderSafe(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"printable ASCII":        {"Demo App 1.0", "Demo App 1.0"},
		"empty":                  {"", ""},
		"valid UTF-8 kept":       {"Café Ünïcødé ✓", "Café Ünïcødé ✓"},
		"a real U+FFFD is kept":  {"a\uFFFDb", "a\uFFFDb"},
		"invalid byte":           {"Bad\xffName", "Bad!Name"},
		"truncated sequence":     {"caf\xc3", "caf!"},
		"CR LF (header split)":   {"a\r\nx-appauthz-app-id: evil", "a!!x-appauthz-app-id: evil"},
		"NUL, tab and DEL":       {"a\x00b\tc\x7f", "a!b!c!"},
		"C1 control":             {"a\u0085b", "a!b"},
		"invalid after UTF-8":    {"é\xfe", "é!"},
		"only invalid":           {"\xff\xfe", "!!"},
		"overlong encoding of /": {"\xc0\xaf", "!!"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := headerSafe(tc.in); got != tc.want {
				t.Errorf("headerSafe(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

// The hot path: values that need no change cost no allocation.
func TestHeaderSafeNoAllocs(t *testing.T) {
	for _, s := range []string{"demo-app", "Demo App", "Café"} {
		if n := testing.AllocsPerRun(100, func() { _ = headerSafe(s) }); n != 0 {
			t.Errorf("headerSafe(%q) allocates %v times; want 0", s, n)
		}
	}
}

// badIdentity is what a record that bypassed the store's validation (say,
// written straight into Redis) could put in a decision.
var badIdentity = authz.Identity{
	AppID: "demo-app", AppName: "Bad\xffName\r\nx-evil: 1", KeyID: "k\x00", Method: authz.MethodKey, API: "demo",
	Scopes: []string{"read", "wr\xc3ite"},
}

// Response building cannot fail: whatever strings the decision holds, the
// CheckResponse marshals, and no header value carries a control character.
func TestToResponseOperatorDataAlwaysMarshals(t *testing.T) {
	allow := authz.Decision{Allow: true, Reason: authz.ReasonOK, Identity: badIdentity,
		HeadersToSet: []authz.HeaderValue{
			{Name: authz.HeaderAppName, Value: badIdentity.AppName},
			{Name: authz.HeaderScopes, Value: "read wr\xc3ite"},
		},
		ResponseHeaders: []authz.HeaderValue{{Name: "x-note", Value: "\xff"}},
	}
	deny := authz.Decision{Reason: authz.ReasonRateLimited, Message: "slow down \xff",
		ResponseHeaders: []authz.HeaderValue{{Name: "retry-after", Value: "1\r\n"}}}
	for name, d := range map[string]authz.Decision{"allow": allow, "deny": deny} {
		t.Run(name, func(t *testing.T) {
			resp := ToResponse(d)
			if _, err := proto.Marshal(resp); err != nil {
				t.Fatalf("proto.Marshal(CheckResponse): %v", err)
			}
			opts := slices.Concat(resp.GetOkResponse().GetHeaders(), resp.GetOkResponse().GetResponseHeadersToAdd(), resp.GetDeniedResponse().GetHeaders())
			for _, o := range opts {
				if v := o.GetHeader().GetValue(); headerSafe(v) != v {
					t.Errorf("header %q = %q still holds bytes that cannot be sent", o.GetHeader().GetKey(), v)
				}
			}
		})
	}
	md := ToResponse(allow).GetDynamicMetadata().GetFields()
	if got := md["app_name"].GetStringValue(); got != "Bad!Name!!x-evil: 1" {
		t.Errorf("metadata app_name = %q; want the sanitized name", got)
	}
	if got := md["scopes"].GetListValue().GetValues()[1].GetStringValue(); got != "wr!ite" {
		t.Errorf("metadata scopes[1] = %q; want %q", got, "wr!ite")
	}
}

// A name to remove that is not UTF-8 cannot be put in the response; the
// request is refused rather than allowed with that header or parameter
// still in it.
func TestToResponseInvalidRemovalNameDenies(t *testing.T) {
	for name, d := range map[string]authz.Decision{
		"header": {Allow: true, Reason: authz.ReasonOK, HeadersToRemove: []string{"x-appauthz-\xff"}},
		"query":  {Allow: true, Reason: authz.ReasonOK, QueryToRemove: []string{"app\xffKey"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := ToResponse(d)
			if resp.GetStatus().GetCode() == int32(codes.OK) || resp.GetDeniedResponse().GetStatus().GetCode() != 400 {
				t.Fatalf("ToResponse = %v; want a 400 deny", resp)
			}
			if _, err := proto.Marshal(resp); err != nil {
				t.Fatalf("proto.Marshal: %v", err)
			}
		})
	}
}

// Removals are deduplicated by sorting, not by a scan per name: thousands
// of x-appauthz-* headers cost O(n log n) and one slice.
func TestRemovalsLinear(t *testing.T) {
	const n = 40_000
	names := make([]string, 0, 2*n)
	for i := range n {
		names = append(names, fmt.Sprintf("x-appauthz-%05d", i), fmt.Sprintf("x-appauthz-%05d", n-1-i))
	}
	names = append(names, authz.HeaderAppID)
	set := []authz.HeaderValue{{Name: authz.HeaderAppID, Value: "a"}}
	got := removals(names, set)
	if len(got) != n || !slices.IsSorted(got) || slices.Contains(got, authz.HeaderAppID) {
		t.Fatalf("removals: %d names (sorted %v, has app id %v); want %d sorted, without the set header",
			len(got), slices.IsSorted(got), slices.Contains(got, authz.HeaderAppID), n)
	}
	if allocs := testing.AllocsPerRun(20, func() { removals(names, set) }); allocs > 2 { // 20 runs: a stray runtime allocation averages out
		t.Errorf("removals allocates %v times; want at most 2 whatever the count", allocs)
	}
	bigSet := make([]authz.HeaderValue, 20)
	for i := range bigSet {
		bigSet[i].Name = fmt.Sprintf("x-appauthz-%05d", i)
	}
	if got := removals(names, bigSet); len(got) != n+1-20 {
		t.Errorf("removals with 20 set headers kept %d names; want %d", len(got), n+1-20)
	}
}

// The audit's reproduction: an app whose name is not UTF-8 made every
// Check fail with a gRPC Internal marshal error, after limits and replay
// nonces were charged. Through the real gRPC server with the fake store,
// the Check now answers an allow that marshals, with the name sanitized
// (the same with a record written straight into a real Redis:
// benchtest.TestCheckInvalidUTF8AppNameRealStore).
func TestCheckInvalidUTF8AppName(t *testing.T) {
	const badName = "Bad\xffName\r\n"
	fake := newFakeStore().App(authz.App{ID: "demo-app", Name: badName, Status: authz.StatusActive})
	h := startServer(t, authz.NewEngine(fake), slog.LevelDebug)
	resp, err := h.client.Check(context.Background(), mustCheckRequest(t, HTTPRequest{
		Method: "GET", URL: "http://localhost/demo",
		Header: http.Header{"Authorization": {"APPCODE " + testAppCode}},
	}))
	if err != nil {
		t.Fatalf("Check: %v; want an answer (the response must always marshal)", err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("Check = %v; want allow", resp)
	}
	if _, err := proto.Marshal(resp); err != nil {
		t.Fatalf("proto.Marshal: %v", err)
	}
	set := checkOptions(t, "headers", resp.GetOkResponse().GetHeaders())
	if got := set[authz.HeaderAppName]; got != "Bad!Name!!" {
		t.Errorf("%s = %q; want %q", authz.HeaderAppName, got, "Bad!Name!!")
	}
}
