package envoyconfig_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The parts of the Istio manifests the tests read.
type meshConfigDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		MeshConfig struct {
			PathNormalization *struct {
				Normalization string `json:"normalization"`
			} `json:"pathNormalization"`
			ExtensionProviders []struct {
				Name              string `json:"name"`
				EnvoyExtAuthzGrpc *struct {
					Service                   string `json:"service"`
					Port                      uint32 `json:"port"`
					Timeout                   string `json:"timeout"`
					FailOpen                  *bool  `json:"failOpen"`
					StatusOnError             string `json:"statusOnError"`
					IncludeRequestBodyInCheck *struct {
						MaxRequestBytes     uint32 `json:"maxRequestBytes"`
						AllowPartialMessage bool   `json:"allowPartialMessage"`
						PackAsBytes         bool   `json:"packAsBytes"`
					} `json:"includeRequestBodyInCheck"`
				} `json:"envoyExtAuthzGrpc"`
			} `json:"extensionProviders"`
		} `json:"meshConfig"`
	} `json:"spec"`
}

// policyDoc is the whole AuthorizationPolicy as authorization-policy.yaml
// writes it (read strictly: a field not modelled here fails the test, so a
// rule cannot gain a condition the tests do not see).
type policyDoc struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Action   string `json:"action"`
		Provider struct {
			Name string `json:"name"`
		} `json:"provider"`
		Rules []policyRule `json:"rules"`
	} `json:"spec"`
}

type objectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type policyRule struct {
	To []struct {
		Operation policyOperation `json:"operation"`
	} `json:"to"`
}

type policyOperation struct {
	Hosts    []string `json:"hosts"`
	NotHosts []string `json:"notHosts"`
	Paths    []string `json:"paths"`
	NotPaths []string `json:"notPaths"`
}

// k8sDoc covers the Service and Deployment fields in authzd.yaml.
type k8sDoc struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Ports []struct {
			Name        string `json:"name"`
			AppProtocol string `json:"appProtocol"`
			Port        uint32 `json:"port"`
			TargetPort  string `json:"targetPort"`
		} `json:"ports"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Env []struct {
						Name      string `json:"name"`
						Value     string `json:"value"`
						ValueFrom any    `json:"valueFrom"`
					} `json:"env"`
					Ports []struct {
						Name          string `json:"name"`
						ContainerPort uint32 `json:"containerPort"`
					} `json:"ports"`
					ReadinessProbe struct {
						HTTPGet struct {
							Path string `json:"path"`
							Port string `json:"port"`
						} `json:"httpGet"`
					} `json:"readinessProbe"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// istioDocs reads every document of a multi-document YAML file into T,
// ignoring fields T does not model.
func istioDocs[T any](t *testing.T, file string) []T {
	t.Helper()
	out, err := decodeDocs[T](repoFile(t, file), false)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return out
}

// strictDocs is istioDocs for files T models completely: an unknown or
// misspelled field fails, as the API server would reject it.
func strictDocs[T any](t *testing.T, file string) []T {
	t.Helper()
	out, err := decodeDocs[T](repoFile(t, file), true)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return out
}

func decodeDocs[T any](data []byte, strict bool) ([]T, error) {
	var out []T
	for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var d T
		var err error
		if strict {
			err = yaml.UnmarshalStrict([]byte(part), &d)
		} else {
			err = yaml.Unmarshal([]byte(part), &d)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func TestIstioManifestsAgree(t *testing.T) {
	ea := loadEnvoyYAML(t).extAuthz
	mesh := strictDocs[meshConfigDoc](t, "deploy/istio/mesh-config.yaml")[0]
	policies := strictDocs[policyDoc](t, "deploy/istio/authorization-policy.yaml")
	k8s := istioDocs[k8sDoc](t, "deploy/istio/authzd.yaml")

	provs := mesh.Spec.MeshConfig.ExtensionProviders
	if len(provs) != 1 || provs[0].EnvoyExtAuthzGrpc == nil {
		t.Fatalf("mesh-config.yaml: want one envoyExtAuthzGrpc provider, got %+v", provs)
	}
	name, p := provs[0].Name, provs[0].EnvoyExtAuthzGrpc

	// Same behaviour as the compose stack's envoy.yaml.
	to, err := time.ParseDuration(p.Timeout)
	if err != nil || to != ea.GetGrpcService().GetTimeout().AsDuration() {
		t.Errorf("provider timeout %q, envoy.yaml %v (Istio's default would be 600s)", p.Timeout, ea.GetGrpcService().GetTimeout().AsDuration())
	}
	if p.FailOpen == nil || *p.FailOpen {
		t.Errorf("provider must set failOpen: false")
	}
	if p.StatusOnError != strconv.Itoa(int(ea.GetStatusOnError().GetCode())) {
		t.Errorf("provider statusOnError %q, envoy.yaml %d", p.StatusOnError, ea.GetStatusOnError().GetCode())
	}
	wb, b := ea.GetWithRequestBody(), p.IncludeRequestBodyInCheck
	if b == nil || b.MaxRequestBytes != wb.GetMaxRequestBytes() || b.AllowPartialMessage != wb.GetAllowPartialMessage() || b.PackAsBytes != wb.GetPackAsBytes() {
		t.Errorf("provider includeRequestBodyInCheck %+v, envoy.yaml with_request_body %v", b, wb)
	}

	// The policy uses this provider and skips the OAuth2 endpoints.
	if len(policies) != 1 || policies[0].Kind != "AuthorizationPolicy" || policies[0].Spec.Action != "CUSTOM" || policies[0].Spec.Provider.Name != name {
		t.Fatalf("authorization-policy.yaml: want one CUSTOM AuthorizationPolicy with provider %q, got %+v", name, policies)
	}
	var skipsOAuth2 bool
	for _, r := range policies[0].Spec.Rules {
		for _, to := range r.To {
			skipsOAuth2 = skipsOAuth2 || slices.Contains(to.Operation.NotPaths, "/oauth2/*")
		}
	}
	if !skipsOAuth2 {
		t.Errorf("the policy must exclude /oauth2/* (notPaths)")
	}

	// The provider's service:port is the authzd Service's gRPC port, which Istio
	// must know speaks gRPC, and which reaches the container's gRPC listener.
	var svc, dep *k8sDoc
	for i := range k8s {
		switch k8s[i].Kind {
		case "Service":
			svc = &k8s[i]
		case "Deployment":
			dep = &k8s[i]
		}
	}
	if svc == nil || dep == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("authzd.yaml: want a Service and a one-container Deployment")
	}
	if want := svc.Metadata.Name + "." + svc.Metadata.Namespace + ".svc.cluster.local"; p.Service != want {
		t.Errorf("provider service %q, want the authzd Service %q", p.Service, want)
	}
	ctr := dep.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	var redisURL bool
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
		redisURL = redisURL || (e.Name == "AUTHZ_REDIS_URL" && (e.Value != "" || e.ValueFrom != nil))
	}
	if !redisURL {
		t.Errorf("authzd container must set AUTHZ_REDIS_URL")
	}
	containerPort := map[string]uint32{}
	for _, cp := range ctr.Ports {
		containerPort[cp.Name] = cp.ContainerPort
	}
	var found, grpcOK bool
	for _, sp := range svc.Spec.Ports {
		if sp.Port != p.Port {
			continue
		}
		found = true
		grpcOK = sp.Name == "grpc" && sp.AppProtocol == "grpc"
		if containerPort[sp.TargetPort] != addrPort(t, env["AUTHZ_GRPC_ADDR"], 9001) {
			t.Errorf("Service port %d -> container port %q (%d), but authzd's gRPC listens on %d",
				sp.Port, sp.TargetPort, containerPort[sp.TargetPort], addrPort(t, env["AUTHZ_GRPC_ADDR"], 9001))
		}
	}
	if !found {
		t.Errorf("provider port %d is not a port of the authzd Service", p.Port)
	} else if !grpcOK {
		t.Errorf("the Service port %d must be named grpc with appProtocol grpc, or Istio sends HTTP/1.1", p.Port)
	}
	rp := ctr.ReadinessProbe.HTTPGet
	if rp.Path != "/readyz" || containerPort[rp.Port] != addrPort(t, env["AUTHZ_HTTP_ADDR"], 8081) {
		t.Errorf("readiness probe %+v: want /readyz on authzd's HTTP port", rp)
	}
}
