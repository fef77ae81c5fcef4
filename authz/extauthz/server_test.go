package extauthz

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/appauthz/appauthz/authz"
	"github.com/appauthz/appauthz/authz/authztest"
	"github.com/appauthz/appauthz/internal/lockedbuf"
)

// deciderFunc adapts a function to Decider.
type deciderFunc func(context.Context, *authz.Request) authz.Decision

func (f deciderFunc) Check(ctx context.Context, r *authz.Request) authz.Decision { return f(ctx, r) }

// harness is a Server behind a real gRPC server on a loopback TCP port.
type harness struct {
	srv    *Server
	client authv3.AuthorizationClient
	health healthpb.HealthClient
	hs     *health.Server
	reg    *prometheus.Registry
	logs   *lockedbuf.Buffer
}

func startServer(t testing.TB, d Decider, level slog.Level) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &lockedbuf.Buffer{}, hs: health.NewServer()}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: level}))
	srv, err := NewServer(d, WithLogger(logger), WithRegisterer(h.reg))
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	gs := NewGRPCServer(srv, h.hs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxRecvMsgSize)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.client = authv3.NewAuthorizationClient(conn)
	h.health = healthpb.NewHealthClient(conn)
	return h
}

func mustCheckRequest(t testing.TB, r HTTPRequest) *authv3.CheckRequest {
	t.Helper()
	cr, err := NewCheckRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

const testAppCode = "3F2504E04F8911D39A0C0305E82C3301"

// newFakeStore is the smallest world for driving the real engine where
// Redis is not the point: one API, one app with an AppCode, one grant.
func newFakeStore() *authztest.Store {
	return authztest.New().
		API(authz.API{ID: "demo", Methods: []authz.Method{authz.MethodAppCode}, AppCodeMode: authz.AppCodeHeaderQuery,
			Access: authz.AccessAuthorized, Route: authz.Route{API: "demo", PathPrefix: "/"}}).
		App(authz.App{ID: "demo-app", Name: "Demo App", Status: authz.StatusActive}).
		AppCode(testAppCode, authz.AppCodeRecord{AppID: "demo-app", Status: authz.StatusActive}).
		Grant("demo", authz.DefaultStage, "demo-app", authz.Grant{})
}

// The real engine, through real gRPC: what Envoy would get for an AppCode
// request, and that the credential never reaches the logs.
func TestServerWithEngine(t *testing.T) {
	h := startServer(t, authz.NewEngine(newFakeStore()), slog.LevelDebug)
	ctx := context.Background()

	allow, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{
		Method: "GET", URL: "http://localhost/demo?x=1",
		Header: http.Header{"Authorization": {"APPCODE " + testAppCode}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if codes.Code(allow.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("AppCode check = %v; want allow", allow)
	}
	set := checkOptions(t, "headers", allow.GetOkResponse().GetHeaders())
	if set["x-appauthz-app-id"] != "demo-app" {
		t.Errorf("x-appauthz-app-id = %q; headers %v", set["x-appauthz-app-id"], set)
	}
	if !strings.Contains(strings.Join(allow.GetOkResponse().GetHeadersToRemove(), " "), "authorization") {
		t.Errorf("headers_to_remove = %v; want authorization", allow.GetOkResponse().GetHeadersToRemove())
	}

	deny, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{
		Method: "GET", URL: "http://localhost/demo",
		Header: http.Header{"Authorization": {"APPCODE 00000000000000000000000000000000"}, "X-Request-Id": {"rid-deny"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if deny.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Unauthorized {
		t.Fatalf("bad AppCode = %v; want a 401 deny", deny)
	}
	logs := h.logs.String()
	if strings.Contains(logs, testAppCode) || strings.Contains(logs, "00000000000000000000000000000000") {
		t.Errorf("a credential reached the logs:\n%s", logs)
	}
	if !strings.Contains(logs, `"request_id":"rid-deny"`) || !strings.Contains(logs, `"level":"INFO"`) {
		t.Errorf("deny line missing request_id or INFO level:\n%s", logs)
	}
}

func TestServerAdapter(t *testing.T) {
	var gotBody int
	var mu sync.Mutex
	d := deciderFunc(func(ctx context.Context, r *authz.Request) authz.Decision {
		mu.Lock()
		gotBody = len(r.Body)
		mu.Unlock()
		switch r.Path {
		case "/panic":
			panic("boom")
		case "/allow":
			return authz.Decision{Allow: true, Reason: authz.ReasonOK,
				Identity:     authz.Identity{AppID: "a1", Method: authz.MethodKey, API: "demo"},
				HeadersToSet: []authz.HeaderValue{{Name: "x-appauthz-app-id", Value: "a1"}}}
		}
		return authz.Decision{Reason: authz.ReasonUnknownAppKey, Identity: authz.Identity{API: "demo"}}
	})
	h := startServer(t, d, slog.LevelInfo)
	ctx := context.Background()

	t.Run("allow", func(t *testing.T) {
		resp, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/allow"}))
		if err != nil || codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			t.Fatalf("Check = %v, %v; want allow", resp, err)
		}
	})
	t.Run("deny", func(t *testing.T) {
		resp, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/x",
			Header: http.Header{"X-App-Key": {"secret-looking-key"}}}))
		if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Unauthorized {
			t.Fatalf("Check = %v, %v; want a 401 deny", resp, err)
		}
	})
	t.Run("malformed is a BadRequest deny, not an RPC error", func(t *testing.T) {
		resp, err := h.client.Check(ctx, &authv3.CheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		den := resp.GetDeniedResponse()
		if den.GetStatus().GetCode() != typev3.StatusCode_BadRequest || !strings.Contains(den.GetBody(), `"code":"BadRequest"`) {
			t.Fatalf("malformed = %v; want 400 BadRequest", resp)
		}
	})
	t.Run("panic is codes.Internal, never OK", func(t *testing.T) {
		resp, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/panic"}))
		if status.Code(err) != codes.Internal || resp != nil {
			t.Fatalf("Check = %v, %v; want codes.Internal", resp, err)
		}
		// The server survives the panic.
		if _, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/allow"})); err != nil {
			t.Fatalf("after panic: %v", err)
		}
	})
	t.Run("12 MiB body is accepted", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 12<<20)
		resp, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "POST", URL: "http://h/allow", Body: body}))
		if err != nil {
			t.Fatalf("Check with 12 MiB body: %v (RESOURCE_EXHAUSTED means MaxRecvMsgSize is too small)", err)
		}
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			t.Fatalf("Check = %v; want allow", resp.GetStatus())
		}
		mu.Lock()
		defer mu.Unlock()
		if gotBody != len(body) {
			t.Errorf("decider saw %d body bytes; want %d", gotBody, len(body))
		}
	})
	t.Run("metrics", func(t *testing.T) {
		for _, c := range []struct {
			labels []string
			want   float64
		}{
			{[]string{"allow", "key", "OK", "demo"}, 3},
			{[]string{"deny", "", "UnknownAppKey", "demo"}, 1},
			{[]string{"deny", "", "BadRequest", ""}, 1},
			{[]string{"error", "", "", ""}, 1},
		} {
			got := testutil.ToFloat64(h.srv.metrics.checks.WithLabelValues(c.labels...))
			if got != c.want {
				t.Errorf("appauthz_checks_total%v = %v; want %v", c.labels, got, c.want)
			}
		}
		if n := testutil.CollectAndCount(h.reg, "appauthz_check_duration_seconds"); n != 2 {
			t.Errorf("duration histogram series = %d; want 2 (allow, deny)", n)
		}
	})
	t.Run("logs", func(t *testing.T) {
		logs := h.logs.String()
		if strings.Contains(logs, "secret-looking-key") {
			t.Errorf("a header value reached the logs:\n%s", logs)
		}
		if !strings.Contains(logs, `"reason":"UnknownAppKey"`) || !strings.Contains(logs, `"msg":"panic in gRPC handler`) {
			t.Errorf("missing deny or panic line:\n%s", logs)
		}
		if strings.Contains(logs, `"result":"allow"`) {
			t.Errorf("allow logged at INFO level; want DEBUG only:\n%s", logs)
		}
	})
	t.Run("health is registered", func(t *testing.T) {
		SetServing(h.hs, false)
		resp, err := h.health.Check(ctx, &healthpb.HealthCheckRequest{Service: ServiceName})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("health = %v, %v; want NOT_SERVING", resp, err)
		}
		SetServing(h.hs, true)
		resp, err = h.health.Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health = %v, %v; want SERVING", resp, err)
		}
	})
}

// When the proxy's deadline passes while the core decides, the answer is a
// StoreUnavailable deny, whatever the core said.
func TestServerDeadlineFailsClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := NewServer(deciderFunc(func(ctx context.Context, r *authz.Request) authz.Decision {
		cancel() // the deadline passes while deciding
		return authz.Decision{Allow: true, Reason: authz.ReasonOK, Identity: authz.Identity{AppID: "a1"}}
	}), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/"}))
	if err != nil {
		t.Fatal(err)
	}
	den := resp.GetDeniedResponse()
	if den.GetStatus().GetCode() != typev3.StatusCode_ServiceUnavailable || !strings.Contains(den.GetBody(), "StoreUnavailable") {
		t.Fatalf("Check after deadline = %v; want a 503 StoreUnavailable deny", resp)
	}
}

// Over gRPC, a Check whose deadline passes never comes back as an allow.
func TestServerDeadlineOverGRPC(t *testing.T) {
	release := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	h := startServer(t, deciderFunc(func(bctx context.Context, r *authz.Request) authz.Decision {
		// A core that overruns its budget and the proxy's deadline.
		<-bctx.Done()
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		close(release)
		return authz.Decision{Allow: true, Reason: authz.ReasonOK}
	}), slog.LevelInfo)
	defer cancel()
	resp, err := h.client.Check(ctx, mustCheckRequest(t, HTTPRequest{Method: "GET", URL: "http://h/"}))
	// Which side notices the deadline first is a race: the client sees
	// DeadlineExceeded, or the server's StoreUnavailable deny arrives just
	// in time. Either is closed; an allow never is.
	switch {
	case err != nil:
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v; want DeadlineExceeded", err)
		}
	case resp.GetStatus().GetCode() == 0 || resp.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_ServiceUnavailable:
		t.Fatalf("Check after deadline = %v; want DeadlineExceeded or a 503 deny", resp)
	}
	<-release
}

func TestNewServerRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewServer(deciderFunc(nil), WithRegisterer(reg)); err != nil {
		t.Fatal(err)
	}
	_, err := NewServer(deciderFunc(nil), WithRegisterer(reg))
	if err == nil {
		t.Fatalf("second NewServer on one registry: err = %v; want a registration error", err)
	}
}
