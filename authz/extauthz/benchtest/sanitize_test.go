package benchtest

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

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
	// The mutations' shape is extauthz's own tests' concern; here only
	// the sanitized value matters.
	got := ""
	for _, o := range resp.GetOkResponse().GetHeaders() {
		if o.GetHeader().GetKey() == authz.HeaderAppName {
			got = o.GetHeader().GetValue()
		}
	}
	if got != "Bad!Name!!" {
		t.Errorf("%s = %q; want %q", authz.HeaderAppName, got, "Bad!Name!!")
	}
}
