package envoyconfig

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// validator is what protoc-gen-validate generates on every Envoy message.
type validator interface{ ValidateAll() error }

// ValidateDeep runs the PGV rules on m and on every message packed in an Any
// below it, at any depth. PGV's own ValidateAll stops at Any fields, which is
// where all of Envoy's filter and extension configs live.
func ValidateDeep(m proto.Message) error {
	var errs []error
	check := func(path string, msg proto.Message) {
		v, ok := msg.(validator)
		if !ok {
			return
		}
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	check("bootstrap", m)
	walkAnys(m.ProtoReflect(), "bootstrap", func(path string, a *anypb.Any) {
		inner, err := a.UnmarshalNew()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot unpack %s: %w", path, a.GetTypeUrl(), err))
			return
		}
		check(path, inner)
	})
	return errors.Join(errs...)
}

// walkAnys calls visit for every Any reachable from m, including Anys inside
// unpacked Anys. Paths name fields as in the YAML, e.g.
// bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.
func walkAnys(m protoreflect.Message, path string, visit func(string, *anypb.Any)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMessage(l.Get(i).Message(), fmt.Sprintf("%s[%d]", p, i), visit)
			}
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				walkMessage(mv.Message(), fmt.Sprintf("%s[%s]", p, k.String()), visit)
				return true
			})
		default:
			walkMessage(v.Message(), p, visit)
		}
		return true
	})
}

func walkMessage(m protoreflect.Message, path string, visit func(string, *anypb.Any)) {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		walkAnys(m, path, visit)
		return
	}
	visit(path, a)
	inner, err := a.UnmarshalNew()
	if err != nil {
		return // reported by visit
	}
	walkAnys(inner.ProtoReflect(), path, visit)
}
