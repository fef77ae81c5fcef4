// Package authz is the decision core of appauthz.
//
// It turns a normalized Request (built by a transport adapter such as
// authz/extauthz) and lookups through the small Store interface into a
// Decision. It knows nothing of gRPC, Envoy protos or Redis: a test checks
// that with `go list -deps`, so the core stays a pure function of its inputs
// that can be table-tested with an in-memory store.
package authz
