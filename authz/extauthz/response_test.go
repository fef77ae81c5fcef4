package extauthz

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/appauthz/appauthz/authz"
)

// checkOptions asserts the portable mutation shape of ENVOY-FACTS §3.2 and
// returns the headers as a map.
func checkOptions(t *testing.T, what string, opts []*corev3.HeaderValueOption) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range opts {
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("%s %q: append_action = %v; want OVERWRITE_IF_EXISTS_OR_ADD", what, o.GetHeader().GetKey(), o.GetAppendAction())
		}
		if has(o, "append") {
			t.Errorf("%s %q: append is set; it must stay nil (Envoy <= 1.36 would read it)", what, o.GetHeader().GetKey())
		}
		if len(o.GetHeader().GetRawValue()) > 0 {
			t.Errorf("%s %q: raw_value set; use value", what, o.GetHeader().GetKey())
		}
		if _, dup := out[o.GetHeader().GetKey()]; dup {
			t.Errorf("%s %q listed twice", what, o.GetHeader().GetKey())
		}
		out[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return out
}

func TestToResponseAllow(t *testing.T) {
	d := authz.Decision{
		Allow:  true,
		Reason: authz.ReasonOK,
		Identity: authz.Identity{
			AppID: "demo-app", AppName: "Demo App", KeyID: "kid_k1", Method: authz.MethodKey, API: "demo",
			Scopes: []string{"read", "write"},
		},
		// x-appauthz-app-id is both set and (as a client-sent spoof) removed:
		// the adapter must not remove what it sets.
		HeadersToRemove: []string{"x-app-key", "x-appauthz-app-id", "x-appauthz-debug", "x-app-key"},
		QueryToRemove:   []string{"appKey"},
		HeadersToSet: []authz.HeaderValue{
			{Name: "x-appauthz-app-id", Value: "demo-app"},
			{Name: "x-appauthz-method", Value: "key"},
		},
		ResponseHeaders: []authz.HeaderValue{{Name: "ratelimit-remaining", Value: "9"}},
	}
	resp := ToResponse(d)
	if resp.GetStatus().GetCode() != int32(codes.OK) {
		t.Fatalf("status = %v; want OK", resp.GetStatus())
	}
	if resp.GetDeniedResponse() != nil || resp.GetErrorResponse() != nil {
		t.Fatal("allow carries a denied/error response")
	}
	ok := resp.GetOkResponse()
	set := checkOptions(t, "headers", ok.GetHeaders())
	if want := map[string]string{"x-appauthz-app-id": "demo-app", "x-appauthz-method": "key"}; !maps.Equal(set, want) {
		t.Errorf("headers = %v; want %v", set, want)
	}
	if want := []string{"x-app-key", "x-appauthz-debug"}; !slices.Equal(ok.GetHeadersToRemove(), want) {
		t.Errorf("headers_to_remove = %v; want %v", ok.GetHeadersToRemove(), want)
	}
	for _, name := range ok.GetHeadersToRemove() {
		if _, both := set[name]; both {
			t.Errorf("%q is both set and removed", name)
		}
	}
	if want := []string{"appKey"}; !slices.Equal(ok.GetQueryParametersToRemove(), want) {
		t.Errorf("query_parameters_to_remove = %v; want %v", ok.GetQueryParametersToRemove(), want)
	}
	if rh := checkOptions(t, "response_headers_to_add", ok.GetResponseHeadersToAdd()); rh["ratelimit-remaining"] != "9" {
		t.Errorf("response_headers_to_add = %v", rh)
	}
	if has(ok, "dynamic_metadata") {
		t.Error("OkHttpResponse.dynamic_metadata is deprecated; use CheckResponse.dynamic_metadata")
	}
	md := resp.GetDynamicMetadata().AsMap()
	for k, want := range map[string]string{"app_id": "demo-app", "app_name": "Demo App", "key_id": "kid_k1", "method": "key", "api": "demo"} {
		if md[k] != want {
			t.Errorf("dynamic_metadata[%s] = %v; want %q", k, md[k], want)
		}
	}
	if sc, _ := md["scopes"].([]any); len(sc) != 2 || sc[0] != "read" || sc[1] != "write" {
		t.Errorf("dynamic_metadata[scopes] = %v", md["scopes"])
	}
}

func TestToResponseDeny(t *testing.T) {
	tests := map[string]struct {
		d          authz.Decision
		grpcCode   codes.Code
		httpStatus typev3.StatusCode
		headers    map[string]string
		body       denyBody
	}{
		"401 with the core's challenge": {
			d: authz.Decision{Reason: authz.ReasonUnknownAppKey, Message: "the app key is not valid",
				ResponseHeaders: []authz.HeaderValue{{Name: "www-authenticate", Value: `hmac realm="appauthz"`}}},
			grpcCode:   codes.Unauthenticated,
			httpStatus: typev3.StatusCode_Unauthorized,
			headers: map[string]string{"x-appauthz-error": "UnknownAppKey", "content-type": "application/json",
				"www-authenticate": `hmac realm="appauthz"`},
			body: denyBody{"UnknownAppKey", "the app key is not valid"},
		},
		"401 without a challenge gets a generic one": {
			d:          authz.Decision{Reason: authz.ReasonMissingCredential},
			grpcCode:   codes.Unauthenticated,
			httpStatus: typev3.StatusCode_Unauthorized,
			headers: map[string]string{"x-appauthz-error": "MissingCredential", "content-type": "application/json",
				"www-authenticate": defaultChallenge},
			body: denyBody{"MissingCredential", authz.ReasonMissingCredential.DefaultMessage()},
		},
		"403": {
			d:          authz.Decision{Reason: authz.ReasonNotAuthorized, Message: "no grant"},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_Forbidden,
			headers:    map[string]string{"x-appauthz-error": "NotAuthorized", "content-type": "application/json"},
			body:       denyBody{"NotAuthorized", "no grant"},
		},
		"429 with retry-after": {
			d: authz.Decision{Reason: authz.ReasonRateLimited,
				ResponseHeaders: []authz.HeaderValue{{Name: "retry-after", Value: "3"}}},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_TooManyRequests,
			headers: map[string]string{"x-appauthz-error": "RateLimited", "content-type": "application/json",
				"retry-after": "3"},
			body: denyBody{"RateLimited", authz.ReasonRateLimited.DefaultMessage()},
		},
		"503 store unavailable is a deny, not an RPC error": {
			d:          authz.Decision{Reason: authz.ReasonStoreUnavailable},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_ServiceUnavailable,
			headers:    map[string]string{"x-appauthz-error": "StoreUnavailable", "content-type": "application/json"},
			body:       denyBody{"StoreUnavailable", authz.ReasonStoreUnavailable.DefaultMessage()},
		},
		"400 and 413": {
			d:          authz.Decision{Reason: authz.ReasonBodyTooLarge},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_PayloadTooLarge,
			headers:    map[string]string{"x-appauthz-error": "BodyTooLarge", "content-type": "application/json"},
			body:       denyBody{"BodyTooLarge", authz.ReasonBodyTooLarge.DefaultMessage()},
		},
		"deny without a reason is still a 403 deny": {
			d:          authz.Decision{},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_Forbidden,
			headers:    map[string]string{"x-appauthz-error": "NotAuthorized", "content-type": "application/json"},
			body:       denyBody{"NotAuthorized", authz.ReasonNotAuthorized.DefaultMessage()},
		},
		"the core cannot override the contract headers": {
			d: authz.Decision{Reason: authz.ReasonAppDisabled, ResponseHeaders: []authz.HeaderValue{
				{Name: "content-type", Value: "text/html"}, {Name: "x-appauthz-error", Value: "OK"}}},
			grpcCode:   codes.PermissionDenied,
			httpStatus: typev3.StatusCode_Forbidden,
			headers:    map[string]string{"x-appauthz-error": "AppDisabled", "content-type": "application/json"},
			body:       denyBody{"AppDisabled", authz.ReasonAppDisabled.DefaultMessage()},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := ToResponse(tc.d)
			if got := codes.Code(resp.GetStatus().GetCode()); got != tc.grpcCode {
				t.Errorf("status code = %v; want %v", got, tc.grpcCode)
			}
			if resp.GetOkResponse() != nil {
				t.Fatal("deny carries an OkHttpResponse")
			}
			if resp.GetDynamicMetadata() != nil {
				t.Error("deny carries dynamic metadata")
			}
			den := resp.GetDeniedResponse()
			if den.GetStatus().GetCode() != tc.httpStatus {
				t.Errorf("http status = %v; want %v", den.GetStatus().GetCode(), tc.httpStatus)
			}
			if got := checkOptions(t, "denied headers", den.GetHeaders()); !maps.Equal(got, tc.headers) {
				t.Errorf("headers = %v; want %v", got, tc.headers)
			}
			var body denyBody
			if err := json.Unmarshal([]byte(den.GetBody()), &body); err != nil {
				t.Fatalf("body %q: %v", den.GetBody(), err)
			}
			if body != tc.body {
				t.Errorf("body = %+v; want %+v", body, tc.body)
			}
		})
	}
}

// Every reason of the contract maps to a defined Envoy StatusCode equal to
// its HTTP status, and 401s are the only UNAUTHENTICATED.
func TestToResponseEveryReason(t *testing.T) {
	for _, r := range authz.AllReasons() {
		if r == authz.ReasonOK {
			continue
		}
		resp := ToResponse(authz.Decision{Reason: r})
		den := resp.GetDeniedResponse()
		if int(den.GetStatus().GetCode()) != r.HTTPStatus() {
			t.Errorf("%s: http status %d; want %d", r, den.GetStatus().GetCode(), r.HTTPStatus())
		}
		wantGRPC := codes.PermissionDenied
		if r.HTTPStatus() == 401 {
			wantGRPC = codes.Unauthenticated
		}
		if got := codes.Code(resp.GetStatus().GetCode()); got != wantGRPC {
			t.Errorf("%s: grpc code %v; want %v", r, got, wantGRPC)
		}
	}
}

// has reports whether field name is set on m. It reads deprecated fields
// through reflection: the point is to assert they stay unset.
func has(m proto.Message, name protoreflect.Name) bool {
	r := m.ProtoReflect()
	return r.Has(r.Descriptor().Fields().ByName(name))
}
