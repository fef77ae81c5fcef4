package envoyconfig_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	envoyconfig "github.com/appauthz/appauthz/deploy/envoy"
)

// The ext_authz filter settings the architecture (§3, §9) binds us to.
func TestExtAuthzFilter(t *testing.T) {
	l := loadEnvoyYAML(t)
	ea := l.extAuthz

	if got := ea.GetTransportApiVersion(); got != corev3.ApiVersion_V3 {
		t.Errorf("transport_api_version = %v, want V3", got)
	}
	g := ea.GetGrpcService()
	if g.GetEnvoyGrpc() == nil {
		t.Fatalf("grpc_service must use envoy_grpc, got %v", g)
	}
	if c := g.GetEnvoyGrpc().GetClusterName(); l.clusters[c] == nil {
		t.Errorf("envoy_grpc cluster %q is not defined", c)
	}
	// Its value is checked against authzd's --redis-timeout in
	// cmd/authzd/deploytimeouts_test.go.
	if to := g.GetTimeout(); to == nil {
		t.Errorf("grpc_service.timeout is unset: Envoy's default 200ms is shorter than a Check may take")
	}
	if !strings.Contains(string(repoFile(t, "deploy/envoy/envoy.yaml")), "failure_mode_allow: false") {
		t.Errorf("envoy.yaml must say failure_mode_allow: false explicitly")
	}
	if ea.GetFailureModeAllow() {
		t.Errorf("failure_mode_allow is true: authzd errors would let requests through")
	}
	if got := ea.GetStatusOnError().GetCode(); got != typev3.StatusCode_ServiceUnavailable {
		t.Errorf("status_on_error = %v, want ServiceUnavailable", got)
	}
	b := ea.GetWithRequestBody()
	if b.GetMaxRequestBytes() != 10485760 || b.GetAllowPartialMessage() || !b.GetPackAsBytes() {
		t.Errorf("with_request_body = %v, want {max_request_bytes: 10485760, allow_partial_message: false, pack_as_bytes: true}", b)
	}
	if !ea.GetIncludePeerCertificate() {
		t.Errorf("include_peer_certificate should be true")
	}

	hf := l.hcm.GetHttpFilters()
	if hf[0].GetName() != "envoy.filters.http.ext_authz" || hf[len(hf)-1].GetName() != "envoy.filters.http.router" {
		t.Errorf("http filters = %v, want ext_authz first and router last", hf)
	}
}

// Signatures are checked against the normalized path, so normalization must be on
// (and documented); request ids come from x-request-id.
func TestConnectionManager(t *testing.T) {
	h := loadEnvoyYAML(t).hcm
	for _, p := range edgeHardeningProblems(h) {
		t.Error(p)
	}
	if !h.GetGenerateRequestId().GetValue() {
		t.Errorf("generate_request_id must be on")
	}
	if len(h.GetAccessLog()) == 0 {
		t.Errorf("want an access log")
	}
}

func TestRoutes(t *testing.T) {
	l := loadEnvoyYAML(t)
	grpcCluster := l.extAuthz.GetGrpcService().GetEnvoyGrpc().GetClusterName()

	t.Run("oauth2 goes to authzd HTTP without a Check", func(t *testing.T) {
		for _, p := range []string{"/oauth2/token", "/oauth2/revoke"} {
			r := matchRoute(t, l.hcm, p)
			if !perRouteAuthz(t, r).GetDisabled() {
				t.Errorf("%s: ext_authz is not disabled", p)
			}
			c := r.GetRoute().GetCluster()
			host, _ := endpoint(t, l.clusters[c])
			grpcHost, _ := endpoint(t, l.clusters[grpcCluster])
			if c == grpcCluster || host != grpcHost {
				t.Errorf("%s routes to cluster %q (host %s); want authzd's HTTP cluster on host %s", p, c, host, grpcHost)
			}
		}
	})

	t.Run("orders is resolved by authzd's route table", func(t *testing.T) {
		for _, p := range []string{"/orders", "/orders/42?x=1"} {
			r := matchRoute(t, l.hcm, p)
			if _, ok := perRouteAuthz(t, r).GetCheckSettings().GetContextExtensions()["api"]; ok {
				t.Errorf("%s: route sets context extension api; it must be left to the route table", p)
			}
			if perRouteAuthz(t, r).GetDisabled() {
				t.Errorf("%s: ext_authz disabled", p)
			}
			if r.GetRoute().GetCluster() != "upstream" {
				t.Errorf("%s: cluster %q, want upstream", p, r.GetRoute().GetCluster())
			}
		}
	})

	t.Run("everything else is the demo API", func(t *testing.T) {
		for _, p := range []string{"/", "/requests?name=bob", "/ordersX", "/oauth2"} {
			r := matchRoute(t, l.hcm, p)
			pr := perRouteAuthz(t, r)
			ce := pr.GetCheckSettings().GetContextExtensions()
			if pr.GetDisabled() || ce["api"] != "demo" || ce["stage"] != "RELEASE" {
				t.Errorf("%s: ext_authz per-route = %v, want enabled with context_extensions {api: demo, stage: RELEASE}", p, pr)
			}
			if r.GetRoute().GetCluster() != "upstream" {
				t.Errorf("%s: cluster %q, want upstream", p, r.GetRoute().GetCluster())
			}
		}
	})

	// No vhost-level extension: it would leak api=demo into /orders.
	for _, vh := range l.hcm.GetRouteConfig().GetVirtualHosts() {
		if len(vh.GetTypedPerFilterConfig()) != 0 {
			t.Errorf("virtual host %q has typed_per_filter_config; keep it per route", vh.GetName())
		}
	}
}

func TestAuthzdCluster(t *testing.T) {
	l := loadEnvoyYAML(t)
	c := l.clusters[l.extAuthz.GetGrpcService().GetEnvoyGrpc().GetClusterName()]

	a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		t.Fatalf("cluster %q has no HttpProtocolOptions: gRPC needs HTTP/2", c.GetName())
	}
	po := &upstreamhttpv3.HttpProtocolOptions{}
	if err := a.UnmarshalTo(po); err != nil {
		t.Fatal(err)
	}
	h2 := po.GetExplicitHttpConfig().GetHttp2ProtocolOptions()
	if h2 == nil {
		t.Fatalf("cluster %q: want explicit_http_config.http2_protocol_options, got %v", c.GetName(), po)
	}
	ka := h2.GetConnectionKeepalive()
	if ka.GetInterval().AsDuration() != 30*time.Second || ka.GetTimeout().AsDuration() != 5*time.Second {
		t.Errorf("connection_keepalive = %v, want interval 30s timeout 5s (authzd permits pings that often)", ka)
	}
	var grpcHC bool
	for _, hc := range c.GetHealthChecks() {
		grpcHC = grpcHC || hc.GetGrpcHealthCheck() != nil
	}
	if !grpcHC {
		t.Errorf("cluster %q: want a grpc_health_check (authzd serves grpc.health.v1)", c.GetName())
	}
}

// edgeHardeningProblems lists what is missing from the HCM's request
// hardening: path normalization (authzd and the upstream must see the path
// Envoy routed on) and the refusal of underscore header names (CGI-style
// upstreams read x_appauthz_app_id as x-appauthz-app-id).
func edgeHardeningProblems(h *hcmv3.HttpConnectionManager) []string {
	var out []string
	if !h.GetNormalizePath().GetValue() {
		out = append(out, "normalize_path must be true: dot segments would select one route here and another upstream")
	}
	if !h.GetMergeSlashes() {
		out = append(out, "merge_slashes must be true: //orders would miss the /orders route")
	}
	if got := h.GetPathWithEscapedSlashesAction(); got != hcmv3.HttpConnectionManager_REJECT_REQUEST {
		out = append(out, fmt.Sprintf("path_with_escaped_slashes_action = %v, want REJECT_REQUEST: /orders%%2F42 would route as the catch-all and reach /orders/42", got))
	}
	if got := h.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); got != corev3.HttpProtocolOptions_REJECT_REQUEST {
		out = append(out, fmt.Sprintf("common_http_protocol_options.headers_with_underscores_action = %v, want REJECT_REQUEST: x_appauthz_app_id would impersonate x-appauthz-app-id upstream", got))
	}
	return out
}

// Each hardening setting, weakened or removed, is reported.
func TestEdgeHardeningDetectsWeakening(t *testing.T) {
	good := string(repoFile(t, "deploy/envoy/envoy.yaml"))
	cases := map[string]struct{ old, new, want string }{
		"normalize_path off":         {"normalize_path: true", "normalize_path: false", "normalize_path"},
		"merge_slashes off":          {"merge_slashes: true", "merge_slashes: false", "merge_slashes"},
		"escaped slashes kept":       {"path_with_escaped_slashes_action: REJECT_REQUEST", "path_with_escaped_slashes_action: KEEP_UNCHANGED", "path_with_escaped_slashes_action"},
		"escaped slashes redirected": {"path_with_escaped_slashes_action: REJECT_REQUEST", "path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT", "path_with_escaped_slashes_action"},
		"underscores allowed":        {"headers_with_underscores_action: REJECT_REQUEST", "headers_with_underscores_action: ALLOW", "headers_with_underscores_action"},
		"underscores dropped":        {"headers_with_underscores_action: REJECT_REQUEST", "headers_with_underscores_action: DROP_HEADER", "headers_with_underscores_action"},
		"underscore setting removed": {"            headers_with_underscores_action: REJECT_REQUEST\n", "            max_headers_count: 100\n", "headers_with_underscores_action"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("mutation did not apply: %q not in envoy.yaml", tc.old)
			}
			bs, err := envoyconfig.Load([]byte(bad))
			if err != nil {
				t.Fatalf("mutated config no longer loads: %v", err)
			}
			hcms, err := envoyconfig.HCMs(bs)
			if err != nil || len(hcms) != 1 {
				t.Fatalf("HCMs: %v", err)
			}
			problems := strings.Join(edgeHardeningProblems(hcms[0]), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("weakened %s not reported; problems:\n%s", tc.want, problems)
			}
		})
	}
}

const routerFilter = `          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`

// The validator must be able to fail: each mutation of envoy.yaml is a
// mistake Envoy would reject or silently mis-handle.
func TestLoadRejectsBrokenConfigs(t *testing.T) {
	good := string(repoFile(t, "deploy/envoy/envoy.yaml"))
	cases := map[string]struct {
		old, new string
		wantErr  string
	}{
		"misspelled field": {
			"failure_mode_allow: false", "failure_mode_alow: false", "failure_mode_alow"},
		"zero max_request_bytes": {
			"max_request_bytes: 10485760", "max_request_bytes: 0", "MaxRequestBytes"},
		"undefined authz cluster": {
			"envoy_grpc: { cluster_name: authzd }", "envoy_grpc: { cluster_name: authz }", `cluster "authz", which is not defined`},
		"undefined route cluster": {
			"route: { cluster: authzd_http,", "route: { cluster: authzd-http,", `cluster "authzd-http", which is not defined`},
		"unlinked @type": {
			"envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute", "envoy.extensions.filters.http.lua.v3.LuaPerRoute", "lua.v3.LuaPerRoute"},
		"undefined enum value": {
			"status_on_error: { code: ServiceUnavailable }", "status_on_error: { code: 999 }", "Code"},
		"transport V2": {
			"transport_api_version: V3", "transport_api_version: V2", "transport_api_version"},
		"router not last": {
			"          http_filters:\n", "          http_filters:\n" + routerFilter, "router but is not last"},
		"per-filter key naming no filter": {
			"\n                  envoy.filters.http.ext_authz:", "\n                  envoy.filters.http.extauthz:", `"envoy.filters.http.extauthz" names no configured http filter`},
		"misspelled underscore action": {
			"headers_with_underscores_action: REJECT_REQUEST", "headers_with_underscores_action: REJECT", "headersWithUnderscoresAction"},
		"underscore action on the HCM itself": {
			"          common_http_protocol_options:\n            #", "          headers_with_underscores_action: REJECT_REQUEST\n          common_http_protocol_options:\n            #", "headers_with_underscores_action"},
		"http filter without typed_config": {
			"            typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n", "", "no typed_config"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("mutation did not apply: %q not in envoy.yaml", tc.old)
			}
			_, err := envoyconfig.Load([]byte(bad))
			if err == nil {
				t.Fatalf("Load accepted the broken config")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error does not mention %q:\n%v", tc.wantErr, err)
			}
		})
	}
}
