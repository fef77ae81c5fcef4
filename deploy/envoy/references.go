package envoyconfig

import (
	"errors"
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// HCMs returns the HTTP connection manager of every static listener filter
// chain that has one, in file order.
func HCMs(bs *bootstrapv3.Bootstrap) ([]*hcmv3.HttpConnectionManager, error) {
	var out []*hcmv3.HttpConnectionManager
	for _, l := range bs.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				tc := f.GetTypedConfig()
				if tc == nil || !tc.MessageIs(&hcmv3.HttpConnectionManager{}) {
					continue
				}
				h := &hcmv3.HttpConnectionManager{}
				if err := tc.UnmarshalTo(h); err != nil {
					return nil, fmt.Errorf("listener %q: unpack http_connection_manager: %w", l.GetName(), err)
				}
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// ExtAuthz returns the ext_authz filter config of an HCM, or nil if it has none.
func ExtAuthz(h *hcmv3.HttpConnectionManager) (*extauthzv3.ExtAuthz, error) {
	for _, f := range h.GetHttpFilters() {
		tc := f.GetTypedConfig()
		if tc == nil || !tc.MessageIs(&extauthzv3.ExtAuthz{}) {
			continue
		}
		ea := &extauthzv3.ExtAuthz{}
		if err := tc.UnmarshalTo(ea); err != nil {
			return nil, fmt.Errorf("http filter %q: %w", f.GetName(), err)
		}
		return ea, nil
	}
	return nil, nil
}

// CheckReferences reports references Envoy would reject (or silently
// mis-handle) at start-up that the schema alone cannot catch:
//   - every cluster a route or the ext_authz filter (grpc_service or
//     http_service) names is defined;
//   - ext_authz uses transport_api_version V3;
//   - every typed_per_filter_config key names an http filter of that HCM
//     (a typo there is silently ignored by Envoy: the override never applies);
//   - every http filter has a typed_config, and the router is the last one;
//   - HCMs use a static route_config (RDS cannot be checked offline).
func CheckReferences(bs *bootstrapv3.Bootstrap) error {
	clusters := map[string]bool{}
	var errs []error
	for _, c := range bs.GetStaticResources().GetClusters() {
		if clusters[c.GetName()] {
			errs = append(errs, fmt.Errorf("cluster %q is defined twice", c.GetName()))
		}
		clusters[c.GetName()] = true
	}
	hcms, err := HCMs(bs)
	if err != nil {
		return err
	}
	for _, h := range hcms {
		errs = append(errs, checkHCM(h, clusters)...)
	}
	return errors.Join(errs...)
}

func checkHCM(h *hcmv3.HttpConnectionManager, clusters map[string]bool) []error {
	var errs []error
	where := fmt.Sprintf("http_connection_manager %q", h.GetStatPrefix())
	filters := map[string]bool{}
	hf := h.GetHttpFilters()
	for _, f := range hf {
		filters[f.GetName()] = true
		if f.GetTypedConfig() == nil && f.GetConfigDiscovery() == nil {
			errs = append(errs, fmt.Errorf("%s: http filter %q has no typed_config", where, f.GetName()))
		}
	}
	if n := len(hf); n == 0 || !hf[n-1].GetTypedConfig().MessageIs(&routerv3.Router{}) {
		errs = append(errs, fmt.Errorf("%s: the last http filter must be envoy.filters.http.router", where))
	}
	for i, f := range hf[:max(len(hf)-1, 0)] {
		if f.GetTypedConfig().MessageIs(&routerv3.Router{}) {
			errs = append(errs, fmt.Errorf("%s: http filter %d is the router but is not last; filters after it never run", where, i))
		}
	}

	ea, err := ExtAuthz(h)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", where, err))
	}
	if ea != nil {
		if ea.GetTransportApiVersion() != corev3.ApiVersion_V3 {
			errs = append(errs, fmt.Errorf("%s: ext_authz transport_api_version is %v; Envoy only accepts V3", where, ea.GetTransportApiVersion()))
		}
		if g := ea.GetGrpcService().GetEnvoyGrpc(); g != nil && !clusters[g.GetClusterName()] {
			errs = append(errs, fmt.Errorf("%s: ext_authz grpc_service names cluster %q, which is not defined", where, g.GetClusterName()))
		}
		if hs := ea.GetHttpService(); hs != nil && !clusters[hs.GetServerUri().GetCluster()] {
			errs = append(errs, fmt.Errorf("%s: ext_authz http_service names cluster %q, which is not defined", where, hs.GetServerUri().GetCluster()))
		}
	}

	rc := h.GetRouteConfig()
	if rc == nil {
		return append(errs, fmt.Errorf("%s: no static route_config (RDS is not checked offline)", where))
	}
	for _, vh := range rc.GetVirtualHosts() {
		vwhere := fmt.Sprintf("%s virtual_host %q", where, vh.GetName())
		errs = append(errs, checkPerFilterKeys(vwhere, vh.GetTypedPerFilterConfig(), filters)...)
		for i, r := range vh.GetRoutes() {
			rwhere := fmt.Sprintf("%s route %d (%s)", vwhere, i, describeMatch(r.GetMatch()))
			errs = append(errs, checkPerFilterKeys(rwhere, r.GetTypedPerFilterConfig(), filters)...)
			for _, c := range routeClusters(r.GetRoute()) {
				if !clusters[c] {
					errs = append(errs, fmt.Errorf("%s: routes to cluster %q, which is not defined", rwhere, c))
				}
			}
		}
	}
	return errs
}

func checkPerFilterKeys[V any](where string, cfg map[string]V, filters map[string]bool) []error {
	var errs []error
	for name := range cfg {
		if !filters[name] {
			errs = append(errs, fmt.Errorf("%s: typed_per_filter_config key %q names no configured http filter", where, name))
		}
	}
	return errs
}

func routeClusters(a *routev3.RouteAction) []string {
	if a == nil {
		return nil
	}
	if c := a.GetCluster(); c != "" {
		return []string{c}
	}
	var out []string
	for _, wc := range a.GetWeightedClusters().GetClusters() {
		out = append(out, wc.GetName())
	}
	return out
}

// describeMatch names a route by its path matcher for error messages.
func describeMatch(m *routev3.RouteMatch) string {
	switch {
	case m.GetPath() != "":
		return "path " + m.GetPath()
	case m.GetPathSeparatedPrefix() != "":
		return "path_separated_prefix " + m.GetPathSeparatedPrefix()
	case m.GetSafeRegex() != nil:
		return "safe_regex " + m.GetSafeRegex().GetRegex()
	default:
		return "prefix " + m.GetPrefix()
	}
}
