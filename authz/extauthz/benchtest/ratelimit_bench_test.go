package benchtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// BenchmarkCheckGRPCLimits is BenchmarkCheckGRPC's allowed Check with and
// without traffic limits in force (a rate and a daily quota, charged in one
// script call): the difference is the cost of traffic control.
//
//	go test -run '^$' -bench CheckGRPCLimits -benchmem ./authz/extauthz/benchtest
func BenchmarkCheckGRPCLimits(b *testing.B) {
	rs := redistest.Start(b)
	st := store.New(rs.Client(b))
	ctx := context.Background()
	// Limits high enough never to refuse within the benchmark.
	limited := authz.Limits{Rate: authz.RateLimit{Count: 1_000_000, Period: time.Second}, Quota: authz.MaxQuota}
	for id, l := range map[string]authz.Limits{"plain": {}, "limited": limited} {
		if err := st.CreateAPI(ctx, authz.API{ID: id, Methods: []authz.Method{authz.MethodAppCode}, Access: authz.AccessAuthorized, Limits: l}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.CreateApp(ctx, store.CreateAppParams{ID: "demo-app", Name: "Demo App", AppCode: testAppCode}); err != nil {
		b.Fatal(err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "plain", AppID: "demo-app"}); err != nil {
		b.Fatal(err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "limited", AppID: "demo-app"}); err != nil {
		b.Fatal(err)
	}
	if err := st.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	h := startServer(b, authz.NewEngine(st))
	for _, api := range []string{"plain", "limited"} {
		b.Run(api, func(b *testing.B) {
			cr := mustCheckRequest(b, extauthz.HTTPRequest{
				Method: "GET", URL: "http://localhost/demo/items?page=2",
				Header:            http.Header{"Authorization": {"APPCODE " + testAppCode}, "Accept": {"application/json"}},
				ContextExtensions: map[string]string{"api": api},
			})
			b.ReportAllocs()
			for b.Loop() {
				resp, err := h.client.Check(ctx, cr)
				if err != nil {
					b.Fatal(err)
				}
				if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
					b.Fatalf("Check = %v; want allow", resp)
				}
			}
			if n := len(h.lastOK(b, cr).GetResponseHeadersToAdd()); (api == "limited") != (n > 0) {
				b.Fatalf("api %s: %d ratelimit headers", api, n)
			}
		})
	}
}
