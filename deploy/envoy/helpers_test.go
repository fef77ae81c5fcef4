package envoyconfig_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	envoyconfig "github.com/appauthz/appauthz/deploy/envoy"
)

// repoFile reads a file by its path from the repository root.
func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// loaded is envoy.yaml, validated, with the parts the tests look at.
type loaded struct {
	bs       *bootstrapv3.Bootstrap
	hcm      *hcmv3.HttpConnectionManager
	extAuthz *extauthzv3.ExtAuthz
	clusters map[string]*clusterv3.Cluster
}

func loadEnvoyYAML(t *testing.T) loaded {
	t.Helper()
	bs, err := envoyconfig.Load(repoFile(t, "deploy/envoy/envoy.yaml"))
	if err != nil {
		t.Fatalf("deploy/envoy/envoy.yaml is invalid:\n%v", err)
	}
	hcms, err := envoyconfig.HCMs(bs)
	if err != nil || len(hcms) != 1 {
		t.Fatalf("want exactly one http_connection_manager, got %d (err %v)", len(hcms), err)
	}
	ea, err := envoyconfig.ExtAuthz(hcms[0])
	if err != nil || ea == nil {
		t.Fatalf("no ext_authz http filter (err %v)", err)
	}
	cl := map[string]*clusterv3.Cluster{}
	for _, c := range bs.GetStaticResources().GetClusters() {
		cl[c.GetName()] = c
	}
	return loaded{bs: bs, hcm: hcms[0], extAuthz: ea, clusters: cl}
}

// endpoint is the single socket address a STRICT_DNS cluster points at.
func endpoint(t *testing.T, c *clusterv3.Cluster) (host string, port uint32) {
	t.Helper()
	var addrs []string
	for _, le := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range le.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			host, port = sa.GetAddress(), sa.GetPortValue()
			addrs = append(addrs, host)
		}
	}
	if len(addrs) != 1 {
		t.Fatalf("cluster %q: want one endpoint, got %v", c.GetName(), addrs)
	}
	return host, port
}

// matchRoute returns the route Envoy would pick for path (first match wins),
// for the matchers envoy.yaml uses: prefix, path and path_separated_prefix.
func matchRoute(t *testing.T, h *hcmv3.HttpConnectionManager, path string) *routev3.Route {
	t.Helper()
	p, _, _ := strings.Cut(path, "?")
	vhs := h.GetRouteConfig().GetVirtualHosts()
	if len(vhs) != 1 {
		t.Fatalf("want one virtual host, got %d", len(vhs))
	}
	for _, r := range vhs[0].GetRoutes() {
		m := r.GetMatch()
		switch {
		case m.GetPath() != "":
			if p == m.GetPath() {
				return r
			}
		case m.GetPathSeparatedPrefix() != "":
			sp := m.GetPathSeparatedPrefix()
			if p == sp || strings.HasPrefix(p, sp+"/") {
				return r
			}
		case m.GetSafeRegex() != nil || m.GetConnectMatcher() != nil:
			t.Fatalf("matchRoute does not model this matcher: %v", m)
		default:
			if strings.HasPrefix(p, m.GetPrefix()) {
				return r
			}
		}
	}
	t.Fatalf("no route matches %q", path)
	return nil
}

// perRouteAuthz is the route's ExtAuthzPerRoute, or nil.
func perRouteAuthz(t *testing.T, r *routev3.Route) *extauthzv3.ExtAuthzPerRoute {
	t.Helper()
	a, ok := r.GetTypedPerFilterConfig()["envoy.filters.http.ext_authz"]
	if !ok {
		return nil
	}
	pr := &extauthzv3.ExtAuthzPerRoute{}
	if err := a.UnmarshalTo(pr); err != nil {
		t.Fatalf("route %v: ext_authz per-route config: %v", r.GetMatch(), err)
	}
	return pr
}
