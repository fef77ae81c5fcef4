// Package e2e holds the end-to-end tests of appauthz: they build the real
// authzd and authzctl binaries, start a real redis-server, provision through
// the CLI, and send authzd the CheckRequests Envoy would send over real gRPC.
package e2e
