// Package istioconfig reads the Kubernetes and Istio manifests in this
// directory as strictly as the API server does: every YAML document is
// decoded into its real Go type (k8s.io/api for Kubernetes objects,
// istio.io/api spec messages through protojson for Istio resources), and a
// field the type does not have, a duplicate key or a kind the package does
// not know fails with the file and document named.
//
// The tests beside it, the timeout consistency test in cmd/authzd and the
// end-to-end test in cmd/e2e that starts authzd exactly as authzd.yaml
// declares all read the manifests through Load.
package istioconfig
