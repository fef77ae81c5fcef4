package envoyconfig_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

// The Istio manifests that harden the request path: path normalization,
// the scope of the /oauth2/ exemption, underscore header names, and who may
// reach authzd at all.

func TestIstioPathNormalization(t *testing.T) {
	mesh := strictDocs[meshConfigDoc](t, "deploy/istio/mesh-config.yaml")[0]
	pn := mesh.Spec.MeshConfig.PathNormalization
	if pn == nil {
		t.Fatalf("mesh-config.yaml sets no pathNormalization: Istio's default BASE does not merge slashes, so //orders would miss an /orders route")
	}
	// Istio has no "reject escaped slashes"; decoding them before the
	// policy, the route and authzd is the nearest to envoy.yaml's REJECT_REQUEST.
	if pn.Normalization != "DECODE_AND_MERGE_SLASHES" {
		t.Errorf("pathNormalization.normalization = %q, want DECODE_AND_MERGE_SLASHES (envoy.yaml normalizes, merges slashes and refuses %%2F)", pn.Normalization)
	}
	h := loadEnvoyYAML(t).hcm
	if !h.GetNormalizePath().GetValue() || !h.GetMergeSlashes() {
		t.Errorf("envoy.yaml and Istio disagree: envoy.yaml must normalize and merge slashes too")
	}
}

// tokenHost is the host token-route.yaml serves authzd's OAuth2 endpoints on.
func tokenHost(t *testing.T) string {
	t.Helper()
	vs := tokenRoute(t).vs
	if len(vs.Spec.Hosts) != 1 {
		t.Fatalf("token-route.yaml: want one VirtualService host, got %v", vs.Spec.Hosts)
	}
	return vs.Spec.Hosts[0]
}

// checkedByPolicy reports whether Istio sends a request for host and path
// to the CUSTOM provider: a rule matches if any of its `to` operations does;
// an operation matches if all its fields do. Only the fields policyDoc
// models exist (the file is read strictly).
func checkedByPolicy(p policyDoc, host, path string) bool {
	for _, r := range p.Spec.Rules {
		if len(r.To) == 0 {
			return true
		}
		for _, to := range r.To {
			op := to.Operation
			if (len(op.Hosts) == 0 || anyMatch(op.Hosts, host, true)) &&
				!anyMatch(op.NotHosts, host, true) &&
				(len(op.Paths) == 0 || anyMatch(op.Paths, path, false)) &&
				!anyMatch(op.NotPaths, path, false) {
				return true
			}
		}
	}
	return false
}

// anyMatch is Istio's string match: exact, "prefix*", "*suffix" or "*";
// hosts compare case-insensitively (since Istio 1.11), paths do not.
func anyMatch(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, v = strings.ToLower(p), strings.ToLower(v)
		}
		switch {
		case p == "*":
			if v != "" {
				return true
			}
		case strings.HasPrefix(p, "*"):
			if strings.HasSuffix(v, p[1:]) {
				return true
			}
		case strings.HasSuffix(p, "*"):
			if strings.HasPrefix(v, p[:len(p)-1]) {
				return true
			}
		case p == v:
			return true
		}
	}
	return false
}

// policyProblems lists the requests the policy gets wrong: only authzd's
// own OAuth2 endpoints on the token host may skip the check.
func policyProblems(p policyDoc, token string) []string {
	type req struct {
		host, path string
		checked    bool
	}
	reqs := []req{
		{token, "/oauth2/token", false},
		{token, "/oauth2/revoke", false},
		{strings.ToUpper(token), "/oauth2/token", false}, // hosts match case-insensitively
		{token + ":443", "/oauth2/token", false},         // and a Host with a port is the same host
		{token, "/orders/42", true},
		{token, "/oauth2", true},
		{token, "/", true},
		{token + ".", "/oauth2/token", true}, // another spelling: checked (authzd refuses it)
		{"api.example.com", "/oauth2/token", true},
		{"api.example.com", "/oauth2/callback", true},
		{"api.example.com", "/orders/42", true},
		{"api.example.com:8443", "/oauth2/x", true},
		{"evil.example.com", "/oauth2/token", true},
		{"auth.example.com.evil.test", "/oauth2/token", true},
		{"", "/oauth2/token", true},
	}
	var out []string
	for _, r := range reqs {
		if got := checkedByPolicy(p, r.host, r.path); got != r.checked {
			out = append(out, fmt.Sprintf("host %q path %q: checked=%v, want %v", r.host, r.path, got, r.checked))
		}
	}
	return out
}

func TestIstioPolicyExemptsOnlyTheTokenHost(t *testing.T) {
	policies := strictDocs[policyDoc](t, "deploy/istio/authorization-policy.yaml")
	if len(policies) != 1 {
		t.Fatalf("want one AuthorizationPolicy, got %d", len(policies))
	}
	p := policies[0]
	if p.APIVersion != "security.istio.io/v1" || p.Kind != "AuthorizationPolicy" || p.Spec.Action != "CUSTOM" {
		t.Fatalf("want a security.istio.io/v1 CUSTOM AuthorizationPolicy, got %s %s %s", p.APIVersion, p.Kind, p.Spec.Action)
	}
	for _, problem := range policyProblems(p, tokenHost(t)) {
		t.Error(problem)
	}
}

// The evaluator above must be able to fail: the policy this replaces, and
// the plausible ways to write the exemption wrongly, are each caught.
func TestIstioPolicyProblemsCatchWrongPolicies(t *testing.T) {
	good := string(repoFile(t, "deploy/istio/authorization-policy.yaml"))
	rulesAt := strings.Index(good, "  rules:\n")
	if rulesAt < 0 {
		t.Fatalf("authorization-policy.yaml has no rules: block")
	}
	cases := map[string]string{
		"every host exempt (the old policy)": `
  - to:
    - operation:
        notPaths: ["/oauth2/*"]
`,
		"both conditions in one operation": `
  - to:
    - operation:
        notHosts: ["auth.example.com", "auth.example.com:*"]
        notPaths: ["/oauth2/*"]
`,
		"only the token host checked": `
  - to:
    - operation:
        hosts: ["auth.example.com"]
        notPaths: ["/oauth2/*"]
`,
		"token host without its port form": `
  - to:
    - operation:
        notHosts: ["auth.example.com"]
  - to:
    - operation:
        notPaths: ["/oauth2/*"]
`,
		"no exemption at all breaks the token endpoint": `
  - to:
    - operation:
        paths: ["*"]
`,
	}
	for name, rules := range cases {
		t.Run(name, func(t *testing.T) {
			docs, err := decodeDocs[policyDoc]([]byte(good[:rulesAt]+"  rules:"+rules), true)
			if err != nil || len(docs) != 1 {
				t.Fatalf("mutated policy does not decode: %v", err)
			}
			if len(policyProblems(docs[0], "auth.example.com")) == 0 {
				t.Errorf("policyProblems found nothing wrong with:%s", rules)
			}
		})
	}
	// Strict decoding: a misspelled field is an error, not a dropped condition.
	bad := strings.Replace(good, "notHosts:", "notHost:", 1)
	if _, err := decodeDocs[policyDoc]([]byte(bad), true); err == nil {
		t.Errorf("a misspelled notHosts decoded without error")
	}
}

// token-route.yaml's Gateway and VirtualService, read strictly.
type gatewayDoc struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector map[string]string `json:"selector"`
		Servers  []struct {
			Port struct {
				Number   uint32 `json:"number"`
				Name     string `json:"name"`
				Protocol string `json:"protocol"`
			} `json:"port"`
			TLS *struct {
				Mode           string `json:"mode"`
				CredentialName string `json:"credentialName"`
			} `json:"tls"`
			Hosts []string `json:"hosts"`
		} `json:"servers"`
	} `json:"spec"`
}

type virtualServiceDoc struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Hosts    []string `json:"hosts"`
		Gateways []string `json:"gateways"`
		HTTP     []struct {
			Name  string `json:"name"`
			Match []struct {
				URI map[string]string `json:"uri"`
			} `json:"match"`
			Route []struct {
				Destination struct {
					Host string `json:"host"`
					Port struct {
						Number uint32 `json:"number"`
					} `json:"port"`
				} `json:"destination"`
			} `json:"route"`
		} `json:"http"`
	} `json:"spec"`
}

type tokenRouteDocs struct {
	gw gatewayDoc
	vs virtualServiceDoc
}

func tokenRoute(t *testing.T) tokenRouteDocs {
	t.Helper()
	data := string(repoFile(t, "deploy/istio/token-route.yaml"))
	parts := strings.SplitN(data, "\n---\n", 2)
	if len(parts) != 2 {
		t.Fatalf("token-route.yaml: want a Gateway, ---, then a VirtualService")
	}
	gws, err := decodeDocs[gatewayDoc]([]byte(parts[0]), true)
	if err != nil || len(gws) != 1 || gws[0].Kind != "Gateway" {
		t.Fatalf("token-route.yaml: first document must be a Gateway: %v", err)
	}
	vss, err := decodeDocs[virtualServiceDoc]([]byte(parts[1]), true)
	if err != nil || len(vss) != 1 || vss[0].Kind != "VirtualService" {
		t.Fatalf("token-route.yaml: second document must be a VirtualService: %v", err)
	}
	return tokenRouteDocs{gws[0], vss[0]}
}

// The token host routes /oauth2/ to authzd's HTTP port and nothing else,
// over TLS, on the gateway the policy selects.
func TestTokenRoute(t *testing.T) {
	r := tokenRoute(t)
	policy := strictDocs[policyDoc](t, "deploy/istio/authorization-policy.yaml")[0]
	k8s := istioDocs[k8sDoc](t, "deploy/istio/authzd.yaml")
	host := tokenHost(t)

	if !maps.Equal(r.gw.Spec.Selector, policy.Spec.Selector.MatchLabels) {
		t.Errorf("Gateway selector %v, but the policy runs on %v", r.gw.Spec.Selector, policy.Spec.Selector.MatchLabels)
	}
	for _, s := range r.gw.Spec.Servers {
		if !slices.Equal(s.Hosts, []string{host}) {
			t.Errorf("Gateway server hosts %v, want only %q", s.Hosts, host)
		}
		if s.Port.Protocol != "HTTPS" || s.TLS == nil || s.TLS.Mode != "SIMPLE" || s.TLS.CredentialName == "" {
			t.Errorf("Gateway server %+v: clients send app secrets here, want HTTPS with TLS mode SIMPLE and a credentialName", s)
		}
	}
	want := r.gw.Metadata.Namespace + "/" + r.gw.Metadata.Name
	if !slices.Equal(r.vs.Spec.Gateways, []string{want}) {
		t.Errorf("VirtualService gateways %v, want [%s]", r.vs.Spec.Gateways, want)
	}

	var svc *k8sDoc
	for i := range k8s {
		if k8s[i].Kind == "Service" {
			svc = &k8s[i]
		}
	}
	if svc == nil {
		t.Fatalf("authzd.yaml has no Service")
	}
	svcHost := svc.Metadata.Name + "." + svc.Metadata.Namespace + ".svc.cluster.local"
	var httpPort uint32
	for _, p := range svc.Spec.Ports {
		if p.Name == "http" {
			httpPort = p.Port
		}
	}
	if len(r.vs.Spec.HTTP) != 1 {
		t.Fatalf("VirtualService: want exactly one http route (/oauth2/ to authzd), got %d", len(r.vs.Spec.HTTP))
	}
	route := r.vs.Spec.HTTP[0]
	if len(route.Match) != 1 || !maps.Equal(route.Match[0].URI, map[string]string{"prefix": "/oauth2/"}) {
		t.Errorf("route match %+v, want only uri prefix /oauth2/ (any other path on the token host would skip the check)", route.Match)
	}
	if len(route.Route) != 1 || route.Route[0].Destination.Host != svcHost || route.Route[0].Destination.Port.Number != httpPort {
		t.Errorf("route destination %+v, want %s port %d (authzd's http port)", route.Route, svcHost, httpPort)
	}
}

// underscore-headers.yaml, read strictly; the patch value is checked as
// Envoy will read it.
type envoyFilterDoc struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		WorkloadSelector struct {
			Labels map[string]string `json:"labels"`
		} `json:"workloadSelector"`
		ConfigPatches []struct {
			ApplyTo string `json:"applyTo"`
			Match   struct {
				Context  string `json:"context"`
				Listener struct {
					FilterChain struct {
						Filter struct {
							Name string `json:"name"`
						} `json:"filter"`
					} `json:"filterChain"`
				} `json:"listener"`
			} `json:"match"`
			Patch struct {
				Operation string          `json:"operation"`
				Value     json.RawMessage `json:"value"`
			} `json:"patch"`
		} `json:"configPatches"`
	} `json:"spec"`
}

// underscoreFilterProblems lists what keeps the EnvoyFilter from setting
// headers_with_underscores_action: REJECT_REQUEST on the policy's gateway.
func underscoreFilterProblems(f envoyFilterDoc, policy policyDoc) []string {
	var out []string
	if f.APIVersion != "networking.istio.io/v1alpha3" || f.Kind != "EnvoyFilter" {
		out = append(out, fmt.Sprintf("want a networking.istio.io/v1alpha3 EnvoyFilter, got %s %s", f.APIVersion, f.Kind))
	}
	if f.Metadata.Namespace != policy.Metadata.Namespace || !maps.Equal(f.Spec.WorkloadSelector.Labels, policy.Spec.Selector.MatchLabels) {
		out = append(out, fmt.Sprintf("EnvoyFilter selects %v in %s; the policy's gateway is %v in %s",
			f.Spec.WorkloadSelector.Labels, f.Metadata.Namespace, policy.Spec.Selector.MatchLabels, policy.Metadata.Namespace))
	}
	if len(f.Spec.ConfigPatches) != 1 {
		return append(out, fmt.Sprintf("want one config patch, got %d", len(f.Spec.ConfigPatches)))
	}
	cp := f.Spec.ConfigPatches[0]
	if cp.ApplyTo != "NETWORK_FILTER" || cp.Match.Context != "GATEWAY" || cp.Patch.Operation != "MERGE" ||
		cp.Match.Listener.FilterChain.Filter.Name != "envoy.filters.network.http_connection_manager" {
		out = append(out, fmt.Sprintf("patch must MERGE into the GATEWAY's envoy.filters.network.http_connection_manager NETWORK_FILTER, got applyTo %s context %s operation %s filter %q",
			cp.ApplyTo, cp.Match.Context, cp.Patch.Operation, cp.Match.Listener.FilterChain.Filter.Name))
	}
	// Strict protojson, as Envoy's own loader: unknown fields and enum
	// values fail.
	var lf listenerv3.Filter
	if err := protojson.Unmarshal(cp.Patch.Value, &lf); err != nil {
		return append(out, fmt.Sprintf("patch value is not an Envoy listener filter: %v", err))
	}
	var h hcmv3.HttpConnectionManager
	if err := lf.GetTypedConfig().UnmarshalTo(&h); err != nil {
		return append(out, fmt.Sprintf("patch typed_config is not an HttpConnectionManager: %v", err))
	}
	if got := h.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); got != corev3.HttpProtocolOptions_REJECT_REQUEST {
		out = append(out, fmt.Sprintf("headers_with_underscores_action = %v, want REJECT_REQUEST", got))
	}
	return out
}

func TestIstioRejectsUnderscoreHeaders(t *testing.T) {
	policy := strictDocs[policyDoc](t, "deploy/istio/authorization-policy.yaml")[0]
	filters := strictDocs[envoyFilterDoc](t, "deploy/istio/underscore-headers.yaml")
	if len(filters) != 1 {
		t.Fatalf("want one EnvoyFilter, got %d", len(filters))
	}
	for _, p := range underscoreFilterProblems(filters[0], policy) {
		t.Error(p)
	}

	good := string(repoFile(t, "deploy/istio/underscore-headers.yaml"))
	cases := map[string]struct{ old, new string }{
		"allowed":              {"headers_with_underscores_action: REJECT_REQUEST", "headers_with_underscores_action: ALLOW"},
		"misspelled field":     {"headers_with_underscores_action:", "headers_with_underscore_action:"},
		"misspelled value":     {"REJECT_REQUEST", "REJECT"},
		"on the wrong message": {"          common_http_protocol_options:\n            headers_with_underscores_action: REJECT_REQUEST", "          headers_with_underscores_action: REJECT_REQUEST"},
		"sidecars only":        {"context: GATEWAY", "context: SIDECAR_INBOUND"},
		"another workload":     {"      istio: ingressgateway", "      istio: egressgateway"},
		"replacing the HCM":    {"operation: MERGE", "operation: REPLACE"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("mutation did not apply: %q", tc.old)
			}
			docs, err := decodeDocs[envoyFilterDoc]([]byte(bad), true)
			if err != nil {
				t.Fatalf("mutated manifest does not decode, so the checker is not exercised: %v", err)
			}
			if len(underscoreFilterProblems(docs[0], policy)) == 0 {
				t.Errorf("mutation %q -> %q not caught", tc.old, tc.new)
			}
		})
	}
}
