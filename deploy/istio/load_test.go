package istioconfig_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	istioconfig "github.com/appauthz/appauthz/deploy/istio"
)

func load(t *testing.T) []istioconfig.Document {
	t.Helper()
	docs, err := istioconfig.Load(".")
	if err != nil {
		t.Fatalf("the manifests in deploy/istio do not decode strictly:\n%v", err)
	}
	return docs
}

// Every shipped manifest decodes into its real type, and the ones the
// deployment needs are there.
func TestShippedManifestsDecode(t *testing.T) {
	docs := load(t)
	if n := len(istioconfig.Of[*appsv1.Deployment](docs)); n != 1 {
		t.Errorf("%d Deployments, want 1", n)
	}
	if n := len(istioconfig.Of[*corev1.Service](docs)); n != 1 {
		t.Errorf("%d Services, want 1", n)
	}
	if n := len(istioconfig.Of[*istioconfig.Resource[*securityv1beta1.AuthorizationPolicy]](docs)); n < 1 {
		t.Errorf("no AuthorizationPolicy")
	}
	ops := istioconfig.Of[*istioconfig.IstioOperator](docs)
	if len(ops) != 1 || ops[0].Spec.MeshConfig == nil || len(ops[0].Spec.MeshConfig.GetExtensionProviders()) == 0 {
		t.Errorf("want one IstioOperator with meshConfig.extensionProviders")
	}
}

// What the strict decoding refuses: each document would be accepted by a
// plain yaml.Unmarshal into a loose struct.
func TestStrictDecodingRefuses(t *testing.T) {
	tests := map[string]struct{ doc, want string }{
		"unknown Deployment field": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    spec:
      containers:
      - name: a
        envv: []
`, `unknown field "envv"`},
		"volume mount at the wrong level": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    spec:
      volumeMounts: [{name: k, mountPath: /k}]
      containers: [{name: a}]
`, `unknown field "volumeMounts"`},
		"bad resource quantity": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    spec:
      containers: [{name: a, resources: {limits: {memory: 256MB}}}]
`, "quantities must match"},
		"duplicate key": {`apiVersion: v1
kind: Service
metadata: {name: a}
spec: {}
spec: {}
`, "already set"},
		"unknown AuthorizationPolicy field": {`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a}
spec:
  action: CUSTOM
  provider: {name: p}
  rules: [{to: [{operation: {notPath: ["/x"]}}]}]
`, "notPath"},
		"bad AuthorizationPolicy enum": {`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a}
spec: {action: CUSTOMER}
`, "CUSTOMER"},
		"meshConfig typo": {`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  meshConfig:
    extensionProviders:
    - name: p
      envoyExtAuthzGrpc: {service: s, port: 9001, timout: 1s}
`, "timout"},
		"IstioOperator field not checked": {`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec: {profile: default}
`, "profile"},
		"unknown EnvoyFilter field": {`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: a}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    patch: {operation: MERGE, valu: {}}
`, "valu"},
		"unknown NetworkPolicy field": {`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a}
spec:
  podSelector: {}
  ingress: [{form: []}]
`, `unknown field "form"`},
		"unknown kind": {`apiVersion: example.com/v1
kind: Widget
metadata: {name: a}
`, "does not know"},
		"no kind": {`metadata: {name: a}
`, "apiVersion and kind"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := istioconfig.Parse("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// Kinds the deployment may grow into decode into their types, including
// free-form parts such as an EnvoyFilter patch value.
func TestParseKinds(t *testing.T) {
	docs, err := istioconfig.Parse("x.yaml", []byte(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: f, namespace: istio-system}
spec:
  workloadSelector: {labels: {istio: ingressgateway}}
  configPatches:
  - applyTo: NETWORK_FILTER
    match: {listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch:
      operation: MERGE
      value:
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          normalize_path: true
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {matchLabels: {app: authzd}}
  policyTypes: [Ingress]
  ingress:
  - ports: [{port: 9001}]
`))
	if err != nil || len(docs) != 2 {
		t.Fatalf("docs %d, err %v", len(docs), err)
	}
	f, ok := docs[0].Object.(*istioconfig.Resource[*networkingv1alpha3.EnvoyFilter])
	if !ok || f.Spec.GetConfigPatches()[0].GetPatch().GetValue().GetFields()["typed_config"] == nil {
		t.Errorf("EnvoyFilter decoded as %T %+v", docs[0].Object, docs[0].Object)
	}
	if np, ok := docs[1].Object.(*networkingv1.NetworkPolicy); !ok || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 9001 {
		t.Errorf("NetworkPolicy decoded as %T %+v", docs[1].Object, docs[1].Object)
	}
}

// Comment-only documents (file headers) and separators are not objects.
func TestParseSkipsComments(t *testing.T) {
	docs, err := istioconfig.Parse("x.yaml", []byte("# header\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# trailer\n"))
	if err != nil || len(docs) != 1 || docs[0].Kind != "Namespace" {
		t.Fatalf("docs %+v, err %v", docs, err)
	}
	if _, ok := docs[0].Object.(*corev1.Namespace); !ok {
		t.Fatalf("object %T, want *v1.Namespace", docs[0].Object)
	}
}

// The authzd pod gets its master key from a Secret it can read, has
// resource requests and limits, and keeps its heap under the memory limit.
func TestDeploymentMasterKeyAndResources(t *testing.T) {
	dep := istioconfig.Of[*appsv1.Deployment](load(t))[0]
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}

	keyFile := env["AUTHZ_MASTER_KEY_FILE"].Value
	if keyFile == "" {
		t.Fatalf("AUTHZ_MASTER_KEY_FILE is not set: authzd exits with \"no master key\"")
	}
	var vol *corev1.Volume
	for _, m := range ctr.VolumeMounts {
		if strings.HasPrefix(keyFile, strings.TrimSuffix(m.MountPath, "/")+"/") {
			if !m.ReadOnly {
				t.Errorf("the master key mount %s must be readOnly", m.MountPath)
			}
			for i := range pod.Volumes {
				if pod.Volumes[i].Name == m.Name {
					vol = &pod.Volumes[i]
				}
			}
		}
	}
	if vol == nil || vol.Secret == nil {
		t.Fatalf("AUTHZ_MASTER_KEY_FILE %s is not in a mounted Secret volume", keyFile)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "create secret generic "+vol.Secret.SecretName) {
		t.Errorf("README.md must say how to create the Secret %s", vol.Secret.SecretName)
	}
	// The Secret's files belong to root; a non-root pod reads them through
	// fsGroup (group read bit) or the world read bit.
	mode := int32(0o644)
	if vol.Secret.DefaultMode != nil {
		mode = *vol.Secret.DefaultMode
	}
	sc := pod.SecurityContext
	groupRead := mode&0o040 != 0 && sc != nil && sc.FSGroup != nil
	if mode&0o004 != 0 {
		t.Errorf("master key file mode %o: readable by every user of the node's containers; use 0440 with fsGroup", mode)
	} else if !groupRead {
		t.Errorf("master key file mode %o without fsGroup: the non-root authzd (uid 65532) cannot read it", mode)
	}

	res := ctr.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := res.Requests[name]; !ok {
			t.Errorf("no %s request", name)
		}
		if _, ok := res.Limits[name]; !ok {
			t.Errorf("no %s limit", name)
		}
	}
	mem := res.Limits[corev1.ResourceMemory]
	gml := env["GOMEMLIMIT"].Value
	if gml == "" {
		t.Fatalf("set GOMEMLIMIT below the memory limit, or the GC (GOGC 400) lets the heap reach it")
	}
	n, ok := strings.CutSuffix(gml, "MiB")
	if !ok {
		t.Fatalf("GOMEMLIMIT %q: write it in MiB", gml)
	}
	mib, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		t.Fatalf("GOMEMLIMIT %q: %v", gml, err)
	}
	if lim := mem.Value() >> 20; mib <= 0 || mib >= lim*9/10 {
		t.Errorf("GOMEMLIMIT %s: keep it under 90%% of the memory limit %s (stacks and buffers live outside the heap)", gml, mem.String())
	}
}
