package envoyconfig

import (
	"errors"
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	// The typed_config types envoy.yaml uses. protojson resolves "@type"
	// through the global registry, so a type missing here is reported as
	// unresolvable, just as an Envoy build without the extension would.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// Load parses an Envoy bootstrap in YAML (or JSON) and validates it: unknown
// fields and unknown "@type"s fail, every message (including those packed in
// Any) must satisfy its PGV rules, and the references checked by
// CheckReferences must resolve. All problems found are returned together.
func Load(doc []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("envoy config is not valid YAML: %w", err)
	}
	bs := &bootstrapv3.Bootstrap{}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, bs); err != nil {
		return nil, fmt.Errorf("envoy config does not match the bootstrap v3 schema (fix the field named below; line:column count in the JSON form of the YAML): %w", err)
	}
	if err := errors.Join(ValidateDeep(bs), CheckReferences(bs)); err != nil {
		return nil, err
	}
	return bs, nil
}
