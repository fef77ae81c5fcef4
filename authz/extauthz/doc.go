// Package extauthz is the Envoy ext_authz (v3, gRPC) adapter of appauthz.
//
// It is the only package that knows Envoy's types. A Check is three steps:
// ToRequest turns the CheckRequest into an authz.Request, the decision core
// (authz.Engine) decides, and ToResponse maps the authz.Decision onto a
// CheckResponse exactly as ARCHITECTURE.md §5 and §9 say. Server wires those
// steps to gRPC with logging and metrics; NewGRPCServer builds a grpc.Server
// tuned for Envoy (message size, keepalive, health, panic recovery).
//
// NewCheckRequest goes the other way: it builds the CheckRequest Envoy would
// send for a plain HTTP request, for `authzctl check`, end-to-end tests and
// benchmarks, where no Envoy binary is available.
package extauthz
