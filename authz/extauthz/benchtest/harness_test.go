package benchtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"

	"github.com/appauthz/appauthz/authz/extauthz"
)

const testAppCode = "3F2504E04F8911D39A0C0305E82C3301"

// harness is an extauthz Server behind a real gRPC server on a loopback
// TCP port, with a client for it.
type harness struct {
	client authv3.AuthorizationClient
	redis  *redis.Client // the real store's, when there is one
}

// startServer serves d over gRPC on loopback; logs are discarded (a JSON
// logger at INFO, as in production: allows are not logged).
func startServer(tb testing.TB, d extauthz.Decider) *harness {
	tb.Helper()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv, err := extauthz.NewServer(d, extauthz.WithLogger(logger), extauthz.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		tb.Fatal(err)
	}
	gs := extauthz.NewGRPCServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(extauthz.MaxRecvMsgSize)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &harness{client: authv3.NewAuthorizationClient(conn)}
}

func mustCheckRequest(tb testing.TB, r extauthz.HTTPRequest) *authv3.CheckRequest {
	tb.Helper()
	cr, err := extauthz.NewCheckRequest(r)
	if err != nil {
		tb.Fatal(err)
	}
	return cr
}

// lastOK runs one more Check and returns its OkHttpResponse.
func (h *harness) lastOK(b *testing.B, cr *authv3.CheckRequest) *authv3.OkHttpResponse {
	b.Helper()
	resp, err := h.client.Check(context.Background(), cr)
	if err != nil {
		b.Fatal(err)
	}
	return resp.GetOkResponse()
}
