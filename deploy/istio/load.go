package istioconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	telemetryv1alpha1 "istio.io/api/telemetry/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Document is one YAML document of a manifest file, decoded.
type Document struct {
	File       string // base name, e.g. authzd.yaml
	Index      int    // position in the file, from 0
	APIVersion string
	Kind       string
	// Object is a pointer to the document's type: *corev1.Service,
	// *appsv1.Deployment, *Resource[*securityv1beta1.AuthorizationPolicy],
	// *IstioOperator, … (see kinds).
	Object any
}

// Resource is an Istio custom resource: Kubernetes metadata around the spec
// message istio.io/api defines.
type Resource[S proto.Message] struct {
	metav1.TypeMeta
	Metadata metav1.ObjectMeta
	Spec     S
}

// IstioOperator is the part of an install.istio.io/v1alpha1 IstioOperator
// the manifests use: spec.meshConfig. Its Go type lives in istio/istio, not
// istio.io/api, so the wrapper is ours and the mesh config is Istio's
// message; any other spec field is refused rather than left unchecked.
type IstioOperator struct {
	metav1.TypeMeta
	Metadata metav1.ObjectMeta
	Spec     struct {
		MeshConfig *meshv1alpha1.MeshConfig
	}
}

// kinds maps "apiVersion kind" to the decoder of that type.
var kinds = map[string]func(js []byte) (any, error){
	"v1 Namespace":                                  k8s[corev1.Namespace],
	"v1 Secret":                                     k8s[corev1.Secret],
	"v1 ConfigMap":                                  k8s[corev1.ConfigMap],
	"v1 ServiceAccount":                             k8s[corev1.ServiceAccount],
	"v1 Service":                                    k8s[corev1.Service],
	"apps/v1 Deployment":                            k8s[appsv1.Deployment],
	"policy/v1 PodDisruptionBudget":                 k8s[policyv1.PodDisruptionBudget],
	"networking.k8s.io/v1 NetworkPolicy":            k8s[networkingv1.NetworkPolicy],
	"security.istio.io/v1 AuthorizationPolicy":      istio[*securityv1beta1.AuthorizationPolicy],
	"security.istio.io/v1beta1 AuthorizationPolicy": istio[*securityv1beta1.AuthorizationPolicy],
	"security.istio.io/v1 PeerAuthentication":       istio[*securityv1beta1.PeerAuthentication],
	"security.istio.io/v1beta1 PeerAuthentication":  istio[*securityv1beta1.PeerAuthentication],
	"security.istio.io/v1 RequestAuthentication":    istio[*securityv1beta1.RequestAuthentication],
	"networking.istio.io/v1alpha3 EnvoyFilter":      istio[*networkingv1alpha3.EnvoyFilter],
	"telemetry.istio.io/v1 Telemetry":               istio[*telemetryv1alpha1.Telemetry],
	"autoscaling/v2 HorizontalPodAutoscaler":        k8s[autoscalingv2.HorizontalPodAutoscaler],
	"networking.istio.io/v1 VirtualService":         istio[*networkingv1alpha3.VirtualService],
	"networking.istio.io/v1beta1 VirtualService":    istio[*networkingv1alpha3.VirtualService],
	"networking.istio.io/v1alpha3 VirtualService":   istio[*networkingv1alpha3.VirtualService],
	"networking.istio.io/v1 DestinationRule":        istio[*networkingv1alpha3.DestinationRule],
	"networking.istio.io/v1beta1 DestinationRule":   istio[*networkingv1alpha3.DestinationRule],
	"networking.istio.io/v1alpha3 DestinationRule":  istio[*networkingv1alpha3.DestinationRule],
	"networking.istio.io/v1 Gateway":                istio[*networkingv1alpha3.Gateway],
	"networking.istio.io/v1beta1 Gateway":           istio[*networkingv1alpha3.Gateway],
	"networking.istio.io/v1alpha3 Gateway":          istio[*networkingv1alpha3.Gateway],
	"networking.istio.io/v1 ServiceEntry":           istio[*networkingv1alpha3.ServiceEntry],
	"networking.istio.io/v1beta1 ServiceEntry":      istio[*networkingv1alpha3.ServiceEntry],
	"networking.istio.io/v1alpha3 ServiceEntry":     istio[*networkingv1alpha3.ServiceEntry],
	"networking.istio.io/v1 Sidecar":                istio[*networkingv1alpha3.Sidecar],
	"networking.istio.io/v1beta1 Sidecar":           istio[*networkingv1alpha3.Sidecar],
	"networking.istio.io/v1alpha3 Sidecar":          istio[*networkingv1alpha3.Sidecar],
	"install.istio.io/v1alpha1 IstioOperator":       istioOperator,
}

// Load reads every *.yaml file in dir. All problems are returned together.
func Load(dir string) ([]Document, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml manifests in %s", dir)
	}
	sort.Strings(files)
	var (
		docs     []Document
		problems []error
	)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		d, err := Parse(filepath.Base(f), b)
		docs = append(docs, d...)
		if err != nil {
			problems = append(problems, err)
		}
	}
	return docs, errors.Join(problems...)
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// Parse decodes the YAML documents of one file; name is used in errors.
func Parse(name string, b []byte) ([]Document, error) {
	var (
		docs     []Document
		problems []error
	)
	for i, part := range separator.Split(string(b), -1) {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		d, err := parseOne(part)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s, document %d: %w", name, i+1, err))
			continue
		}
		d.File, d.Index = name, i
		docs = append(docs, d)
	}
	return docs, errors.Join(problems...)
}

func parseOne(doc string) (Document, error) {
	// YAMLToJSON keeps the last of duplicate keys: refuse them first, as
	// kubectl's strict field validation does.
	var probe map[string]any
	if err := yaml.UnmarshalStrict([]byte(doc), &probe); err != nil {
		return Document{}, fmt.Errorf("not valid YAML: %w", err)
	}
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return Document{}, fmt.Errorf("not valid YAML: %w", err)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil || tm.APIVersion == "" || tm.Kind == "" {
		return Document{}, fmt.Errorf("every document needs apiVersion and kind")
	}
	dec, ok := kinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return Document{}, fmt.Errorf("%s %s: a kind this check does not know; add its Go type to kinds in deploy/istio/load.go", tm.APIVersion, tm.Kind)
	}
	obj, err := dec(js)
	if err != nil {
		return Document{}, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return Document{APIVersion: tm.APIVersion, Kind: tm.Kind, Object: obj}, nil
}

// strictJSON decodes js into v, refusing fields v does not have.
func strictJSON(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the object")
	}
	return nil
}

func k8s[T any](js []byte) (any, error) {
	v := new(T)
	if err := strictJSON(js, v); err != nil {
		return nil, err
	}
	return v, nil
}

// envelope is a custom resource before its spec is decoded.
type envelope struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            json.RawMessage   `json:"spec"`
}

func (e *envelope) decode(js []byte) error {
	if err := strictJSON(js, e); err != nil {
		return err
	}
	if len(e.Spec) == 0 {
		return errors.New("no spec")
	}
	return nil
}

func istio[S proto.Message](js []byte) (any, error) {
	var e envelope
	if err := e.decode(js); err != nil {
		return nil, err
	}
	r := &Resource[S]{TypeMeta: e.TypeMeta, Metadata: e.Metadata}
	r.Spec = r.Spec.ProtoReflect().Type().New().Interface().(S)
	if err := (protojson.UnmarshalOptions{}).Unmarshal(e.Spec, r.Spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return r, nil
}

func istioOperator(js []byte) (any, error) {
	var e envelope
	if err := e.decode(js); err != nil {
		return nil, err
	}
	var spec struct {
		MeshConfig json.RawMessage `json:"meshConfig"`
	}
	if err := strictJSON(e.Spec, &spec); err != nil {
		return nil, fmt.Errorf("spec: %w (only meshConfig is checked here)", err)
	}
	op := &IstioOperator{TypeMeta: e.TypeMeta, Metadata: e.Metadata}
	if len(spec.MeshConfig) > 0 {
		op.Spec.MeshConfig = &meshv1alpha1.MeshConfig{}
		if err := (protojson.UnmarshalOptions{}).Unmarshal(spec.MeshConfig, op.Spec.MeshConfig); err != nil {
			return nil, fmt.Errorf("spec.meshConfig: %w", err)
		}
	}
	return op, nil
}

// stripComments drops YAML comment lines, so a document of comments only
// counts as empty.
func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Of returns the objects of type T among docs, in file order.
func Of[T any](docs []Document) []T {
	var out []T
	for _, d := range docs {
		if v, ok := d.Object.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
