package benchtest

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/extauthz"
	"github.com/appauthz/appauthz/store"
	"github.com/appauthz/appauthz/store/redistest"
)

// realStoreHarness is the production path minus Envoy: gRPC on loopback,
// the real engine, the real store, a real redis-server.
func realStoreHarness(tb testing.TB) *harness {
	tb.Helper()
	rs := redistest.Start(tb)
	rdb := rs.Client(tb)
	st := store.New(rdb)
	ctx := context.Background()
	if err := st.CreateAPI(ctx, authz.API{
		ID: "demo", Methods: []authz.Method{authz.MethodAppCode, authz.MethodKey},
		AppCodeMode: authz.AppCodeHeaderQuery, Access: authz.AccessAuthorized,
		Route: authz.Route{API: "demo", PathPrefix: "/"},
	}); err != nil {
		tb.Fatalf("CreateAPI: %v", err)
	}
	if _, err := st.CreateApp(ctx, store.CreateAppParams{ID: "demo-app", Name: "Demo App", AppCode: testAppCode}); err != nil {
		tb.Fatalf("CreateApp: %v", err)
	}
	if err := st.AddGrant(ctx, store.GrantInfo{API: "demo", AppID: "demo-app", Stage: authz.DefaultStage}); err != nil {
		tb.Fatalf("AddGrant: %v", err)
	}
	h := startServer(tb, authz.NewEngine(st))
	h.redis = rdb
	return h
}

func TestCheckGRPCRealStore(t *testing.T) {
	h := realStoreHarness(t)
	resp, err := h.client.Check(context.Background(), mustCheckRequest(t, extauthz.HTTPRequest{
		Method: "GET", URL: "http://localhost/demo?AppCode=" + testAppCode,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("AppCode in query = %v; want allow", resp)
	}
	if q := resp.GetOkResponse().GetQueryParametersToRemove(); len(q) != 1 || q[0] != "AppCode" {
		t.Errorf("query_parameters_to_remove = %v; want [AppCode]", q)
	}
}

// BenchmarkCheckGRPC is one allowed Check through the real gRPC server,
// engine and store on a real redis-server: the hot path Envoy waits on.
//
//	go test -run '^$' -bench CheckGRPC ./authz/extauthz/benchtest
func BenchmarkCheckGRPC(b *testing.B) {
	h := realStoreHarness(b)
	cr := mustCheckRequest(b, extauthz.HTTPRequest{
		Method: "GET", URL: "http://localhost/demo/items?page=2",
		Header: http.Header{"Authorization": {"APPCODE " + testAppCode}, "Accept": {"application/json"}},
	})
	ctx := context.Background()
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
}
