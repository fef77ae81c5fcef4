package e2e

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/appauthz/appauthz/store"
)

// An app name that is not UTF-8, written straight into Redis past
// authzctl's validation, once made every Check of the app fail with a gRPC
// Internal marshal error after its limits and nonce were charged. The real
// authzd now answers an allow whose headers and metadata are sanitized.
func TestInvalidUTF8AppNameEndToEnd(t *testing.T) {
	r := startRedis(t)
	url := r.URL()
	code := ctl(t, url, "app", "create", "--name", "Fine", "--id", "bad-name")["appcode"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "appcode", "--access", "authorized")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "bad-name")
	// authzctl refuses such a name; a hand edit or an old record does not.
	if _, _, exit := ctlRaw(url, "app", "create", "--name", "Bad\xffName"); exit != 1 {
		t.Fatalf("authzctl app create with a name that is not UTF-8: exit %d; want 1", exit)
	}
	if err := r.client(t).HSet(context.Background(), store.DefaultPrefix+"app:{bad-name}", "name", "Bad\xffName\r\n").Err(); err != nil {
		t.Fatal(err)
	}
	d := startAuthzd(t, url)

	o := d.check(t, withAPI(get("http://api.example.com/orders/1", "Authorization", "APPCODE "+code), "orders"))
	o.wantAllow(t, "bad-name")
	if got := o.set["x-appauthz-app-name"]; got != "Bad!Name!!" {
		t.Errorf("x-appauthz-app-name = %q; want %q", got, "Bad!Name!!")
	}
	if _, err := proto.Marshal(o.resp); err != nil {
		t.Errorf("proto.Marshal(CheckResponse): %v", err)
	}
	if got := o.resp.GetDynamicMetadata().GetFields()["app_name"].GetStringValue(); got != "Bad!Name!!" {
		t.Errorf("dynamic metadata app_name = %q; want %q", got, "Bad!Name!!")
	}
}
