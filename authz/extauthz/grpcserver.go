package extauthz

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// ServiceName is the gRPC service Envoy calls; it is also a health service
// name, next to "" (the whole server).
var ServiceName = authv3.Authorization_ServiceDesc.ServiceName

// MaxRecvMsgSize bounds one CheckRequest. envoy.yaml buffers bodies up to
// 10 MiB; grpc-go's 4 MiB default would turn larger ones into
// RESOURCE_EXHAUSTED, which Envoy answers with status_on_error.
const MaxRecvMsgSize = 17 << 20

// MaxConcurrentStreams bounds the Checks in flight on one HTTP/2
// connection (SETTINGS_MAX_CONCURRENT_STREAMS; grpc-go's default is
// unlimited). Envoy's connection pool honours it and opens another
// connection when a peer's streams are all busy, so the cap costs Envoy
// nothing while one client can no longer queue an unbounded number of
// Checks on a single connection. Total load is bounded by who may connect
// (network policy) and by the proxies' own limits.
const MaxConcurrentStreams = 1024

// NewGRPCServer returns a grpc.Server serving srv as Envoy's Authorization
// service and hs as grpc.health.v1, tuned for Envoy:
//   - 17 MiB receive limit, above any body Envoy is configured to buffer;
//   - at most MaxConcurrentStreams Checks in flight per connection;
//   - keepalive enforcement that accepts Envoy's HTTP/2 pings (every 30 s in
//     our envoy.yaml) instead of answering GOAWAY "too_many_pings";
//   - MaxConnectionAge so long-lived Envoy connections rebalance across
//     replicas, with a grace period so in-flight Checks finish;
//   - a recovery interceptor: a panic becomes codes.Internal, which Envoy
//     treats as an error (status_on_error, fail closed) — never an OK.
//
// The caller owns hs and sets its serving status; extra options are
// appended (they win over these defaults: pass grpc.MaxConcurrentStreams
// to change the per-connection cap).
func NewGRPCServer(srv *Server, hs *health.Server, extra ...grpc.ServerOption) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             5 * time.Second,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      5 * time.Minute,
			MaxConnectionAgeGrace: 30 * time.Second,
		}),
		grpc.NumStreamWorkers(streamWorkers()),
		grpc.ChainUnaryInterceptor(srv.recoverUnary),
		grpc.ChainStreamInterceptor(srv.recoverStream),
	}
	gs := grpc.NewServer(append(opts, extra...)...)
	authv3.RegisterAuthorizationServer(gs, srv)
	healthpb.RegisterHealthServer(gs, hs)
	return gs
}

// streamWorkers sizes the pool of goroutines that run Checks. Without a
// pool grpc-go starts a goroutine per Check, whose small stack grows
// (morestack, copystack) on every call: ~10 % of authzd's CPU under load.
// Pooled workers keep their grown stacks; when all are busy grpc-go falls
// back to a new goroutine, so the pool bounds nothing.
func streamWorkers() uint32 {
	return uint32(max(16, 4*runtime.GOMAXPROCS(0)))
}

// SetServing sets the health of both the whole server ("") and the
// Authorization service, which is what Envoy's grpc_health_check and
// Kubernetes gRPC probes ask for.
func SetServing(hs *health.Server, serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	hs.SetServingStatus("", st)
	hs.SetServingStatus(ServiceName, st)
}

// errPanic is what the proxy sees after a recovered panic: an RPC error,
// so Envoy applies status_on_error (fail closed).
var errPanic = status.Error(codes.Internal, "appauthz: internal error, the request was not authorized")

// recoverUnary is the only recover in appauthz.
func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logPanic(ctx, info.FullMethod, p)
			resp, err = nil, errPanic
		}
	}()
	return handler(ctx, req)
}

func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logPanic(ss.Context(), info.FullMethod, p)
			err = errPanic
		}
	}()
	return handler(srv, ss)
}

func (s *Server) logPanic(ctx context.Context, rpc string, p any) {
	s.metrics.observeError()
	s.log.ErrorContext(ctx, "panic in gRPC handler; answered codes.Internal",
		slog.String("rpc", rpc),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())))
}
