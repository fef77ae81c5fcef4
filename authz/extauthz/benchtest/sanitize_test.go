package benchtest

import (
	"context"
	"net/http"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/store"
)

// The audit's reproduction on the real store: an app whose name is not
// UTF-8, written straight into Redis, made every Check fail with a gRPC
// Internal marshal error. The Check now answers an allow that marshals,
// with the name sanitized (with the fake store: extauthz's
// TestCheckInvalidUTF8AppName).
func TestCheckInvalidUTF8AppNameRealStore(t *testing.T) {
	const badName = "Bad\xffName\r\n"
	h := realStoreHarness(t)
	if err := h.redis.HSet(context.Background(), store.DefaultPrefix+"app:{demo-app}", "name", badName).Err(); err != nil {
		t.Fatal(err)
	}
	resp, err := h.client.Check(context.Background(), mustCheckRequest(t, extauthz.HTTPRequest{
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

// checkOptions asserts the portable mutation shape (overwrite-or-add,
// append unset, value not raw_value, no duplicates) and returns the
// headers as a map; extauthz's tests hold the same check.
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

func has(m proto.Message, name protoreflect.Name) bool {
	r := m.ProtoReflect()
	return r.Has(r.Descriptor().Fields().ByName(name))
}
