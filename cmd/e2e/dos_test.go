package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz/extauthz"
)

// A header flood through the gRPC port: 40,000 repeats of one header in
// header_map (Envoy's encode_raw_headers) once took 7 s of CPU and ~1 GB
// for one Check. The real authzd answers it with a BadRequest deny naming
// the header limit — never an RPC error, never an allow — and keeps
// answering ordinary Checks.
func TestHeaderFloodEndToEnd(t *testing.T) {
	r := startRedis(t)
	url := r.URL()
	code := ctl(t, url, "app", "create", "--name", "Flood", "--id", "flood")["appcode"].(string)
	ctl(t, url, "api", "create", "--id", "orders", "--methods", "appcode", "--access", "authorized")
	ctl(t, url, "grant", "add", "--api", "orders", "--app", "flood")
	d := startAuthzd(t, url)

	flood := make([]string, 40_000)
	for i := range flood {
		flood[i] = "v"
	}
	cr, err := extauthz.NewCheckRequest(withAPI(extauthz.HTTPRequest{
		Method: "GET", URL: "http://api.example.com/orders/1", RawHeaders: true,
		Header: http.Header{"Authorization": {"APPCODE " + code}, "X-Dup": flood},
	}, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cr.GetAttributes().GetRequest().GetHttp().GetHeaderMap().GetHeaders()); n < 40_000 {
		t.Fatalf("the CheckRequest carries %d header_map entries; want at least 40,000", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := d.client.Check(ctx, cr)
	if err != nil {
		t.Fatalf("Check RPC failed (Envoy would answer status_on_error): %v", err)
	}
	o := newOutcome(t, resp)
	o.wantDeny(t, 400, "BadRequest")
	if !strings.Contains(o.body["message"], "header fields, at most 500 are accepted") {
		t.Errorf("deny message %q does not name the header limit", o.body["message"])
	}

	// The same request without the flood is allowed, in both header modes.
	for _, raw := range []bool{true, false} {
		d.check(t, withAPI(extauthz.HTTPRequest{
			Method: "GET", URL: "http://api.example.com/orders/1", RawHeaders: raw,
			Header: http.Header{"Authorization": {"APPCODE " + code}, "X-Dup": {"a", "b"}},
		}, "orders")).wantAllow(t, "flood")
	}
}
