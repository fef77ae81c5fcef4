// Package envoyconfig checks Envoy bootstrap files offline, without an Envoy
// binary: it parses them as strictly as Envoy's loader does, runs the
// protoc-gen-validate rules on the bootstrap and on every typed_config inside
// it, and cross-checks references (clusters, filter names, filter order).
//
// The directory also holds envoy.yaml for the docker-compose stack; the tests
// here validate it and check that it agrees with docker-compose.yml and the
// Istio manifests in ../istio.
//
// The checks follow the go-control-plane API version in go.mod (v1.40), which
// can accept fields newer than the Envoy that runs the file: keep envoy.yaml to
// fields the pinned Envoy image supports.
package envoyconfig
