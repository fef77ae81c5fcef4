package envoyconfig_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// networkPolicyDoc models network-policy.yaml completely; it is read
// strictly, so a field added there (matchExpressions, ipBlock, egress, a
// named port) fails until the checks below account for it.
type networkPolicyDoc struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		PodSelector labelSelector `json:"podSelector"`
		PolicyTypes []string      `json:"policyTypes"`
		Ingress     []struct {
			From  []networkPolicyPeer `json:"from"`
			Ports []struct {
				Protocol string `json:"protocol"`
				Port     int32  `json:"port"`
			} `json:"ports"`
		} `json:"ingress"`
	} `json:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type networkPolicyPeer struct {
	NamespaceSelector *labelSelector `json:"namespaceSelector"`
	PodSelector       *labelSelector `json:"podSelector"`
}

// authzdPods is what the NetworkPolicy must agree with in authzd.yaml.
type authzdPods struct {
	namespace string
	labels    map[string]string
	grpcPort  int32 // container port of authzd's gRPC listener
	httpPort  int32
}

func loadAuthzdPods(t *testing.T) authzdPods {
	t.Helper()
	for _, d := range istioDocs[k8sDoc](t, "deploy/istio/authzd.yaml") {
		if d.Kind != "Deployment" {
			continue
		}
		p := authzdPods{namespace: d.Metadata.Namespace, labels: d.Spec.Template.Metadata.Labels}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				switch cp.Name {
				case "grpc":
					p.grpcPort = int32(cp.ContainerPort)
				case "http":
					p.httpPort = int32(cp.ContainerPort)
				}
			}
		}
		if p.grpcPort == 0 || p.httpPort == 0 || len(p.labels) == 0 {
			t.Fatalf("authzd.yaml: Deployment needs pod labels and container ports named grpc and http, got %+v", p)
		}
		return p
	}
	t.Fatalf("authzd.yaml has no Deployment")
	return authzdPods{}
}

// networkPolicyProblems lists how np fails to restrict authzd to the
// gateway that runs the check (gatewayNS, gatewayLabels).
func networkPolicyProblems(np networkPolicyDoc, pods authzdPods, gatewayNS string, gatewayLabels map[string]string) []string {
	var out []string
	if np.APIVersion != "networking.k8s.io/v1" || np.Kind != "NetworkPolicy" {
		out = append(out, fmt.Sprintf("want a networking.k8s.io/v1 NetworkPolicy, got %s %s", np.APIVersion, np.Kind))
	}
	if np.Metadata.Namespace != pods.namespace {
		out = append(out, fmt.Sprintf("namespace %q; authzd runs in %q", np.Metadata.Namespace, pods.namespace))
	}
	sel := np.Spec.PodSelector.MatchLabels
	if len(sel) == 0 {
		out = append(out, "podSelector is empty: it would isolate every pod in the namespace, not authzd")
	}
	for k, v := range sel {
		if pods.labels[k] != v {
			out = append(out, fmt.Sprintf("podSelector %v does not select authzd's pods (labels %v)", sel, pods.labels))
			break
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, "Ingress") {
		out = append(out, fmt.Sprintf("policyTypes %v lacks Ingress: nothing would be restricted", np.Spec.PolicyTypes))
	}
	allowed := map[int32]bool{}
	for i, r := range np.Spec.Ingress {
		if len(r.From) == 0 {
			out = append(out, fmt.Sprintf("ingress rule %d has no from: it admits every source", i))
		}
		if len(r.Ports) == 0 {
			out = append(out, fmt.Sprintf("ingress rule %d has no ports: it opens every port", i))
		}
		for j, p := range r.From {
			switch {
			case p.NamespaceSelector == nil || p.PodSelector == nil:
				out = append(out, fmt.Sprintf("ingress rule %d peer %d: namespaceSelector and podSelector must be in the same peer (separate peers are OR-ed)", i, j))
			case !maps.Equal(p.NamespaceSelector.MatchLabels, map[string]string{"kubernetes.io/metadata.name": gatewayNS}):
				out = append(out, fmt.Sprintf("ingress rule %d peer %d: namespaceSelector %v, want only kubernetes.io/metadata.name: %s (the gateway's namespace)", i, j, p.NamespaceSelector.MatchLabels, gatewayNS))
			case !maps.Equal(p.PodSelector.MatchLabels, gatewayLabels):
				out = append(out, fmt.Sprintf("ingress rule %d peer %d: podSelector %v, want the gateway's %v", i, j, p.PodSelector.MatchLabels, gatewayLabels))
			}
		}
		for _, p := range r.Ports {
			if p.Protocol != "TCP" {
				out = append(out, fmt.Sprintf("ingress rule %d: protocol %q, want TCP", i, p.Protocol))
			}
			if p.Port != pods.grpcPort && p.Port != pods.httpPort {
				out = append(out, fmt.Sprintf("ingress rule %d opens port %d, which is neither authzd's gRPC (%d) nor HTTP (%d) port", i, p.Port, pods.grpcPort, pods.httpPort))
			}
			allowed[p.Port] = true
		}
	}
	// Without these the gateway's Check calls and token requests fail.
	for _, p := range []int32{pods.grpcPort, pods.httpPort} {
		if !allowed[p] {
			out = append(out, fmt.Sprintf("port %d is not opened to the gateway", p))
		}
	}
	return out
}

func TestNetworkPolicy(t *testing.T) {
	pods := loadAuthzdPods(t)
	policy := strictDocs[policyDoc](t, "deploy/istio/authorization-policy.yaml")[0]
	nps := strictDocs[networkPolicyDoc](t, "deploy/istio/network-policy.yaml")
	if len(nps) != 1 {
		t.Fatalf("want one NetworkPolicy, got %d", len(nps))
	}
	// The gateway that calls authzd is the one the AuthorizationPolicy
	// selects, in its namespace.
	for _, p := range networkPolicyProblems(nps[0], pods, policy.Metadata.Namespace, policy.Spec.Selector.MatchLabels) {
		t.Error(p)
	}
	if pods.grpcPort != 9001 {
		t.Errorf("authzd's gRPC container port is %d; the NetworkPolicy and its comments assume 9001", pods.grpcPort)
	}

	good := string(repoFile(t, "deploy/istio/network-policy.yaml"))
	grpcPeer := "  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: istio-system\n      podSelector:"
	cases := map[string]struct{ old, new string }{
		"selectors OR-ed instead of AND-ed": {grpcPeer, "  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: istio-system\n    - podSelector:"},
		"any namespace":                     {"          kubernetes.io/metadata.name: istio-system\n", "          team: mesh\n"},
		"any pod of the gateway namespace":  {"          istio: ingressgateway\n    ports:\n    - protocol: TCP\n      port: 9001", "          app: anything\n    ports:\n    - protocol: TCP\n      port: 9001"},
		"another port":                      {"port: 9001", "port: 9002"},
		"every pod in the namespace":        {"  podSelector:\n    matchLabels:\n      app: authzd\n", "  podSelector:\n    matchLabels: {}\n"},
		"egress only":                       {`policyTypes: ["Ingress"]`, `policyTypes: ["Egress"]`},
		"wrong namespace":                   {"  namespace: appauthz", "  namespace: default"},
		"every source on 9001": {grpcPeer + "\n        matchLabels:\n          istio: ingressgateway\n    ports:\n    - protocol: TCP\n      port: 9001",
			"  - ports:\n    - protocol: TCP\n      port: 9001"},
		"every port from the gateway": {"    ports:\n    - protocol: TCP\n      port: 9001\n", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatalf("mutation did not apply: %q", tc.old)
			}
			docs, err := decodeDocs[networkPolicyDoc]([]byte(bad), true)
			if err != nil {
				t.Fatalf("mutated manifest does not decode, so the checker is not exercised: %v", err)
			}
			if len(networkPolicyProblems(docs[0], pods, policy.Metadata.Namespace, policy.Spec.Selector.MatchLabels)) == 0 {
				t.Errorf("mutation not caught:\n%s", bad)
			}
		})
	}
}
