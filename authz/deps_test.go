package authz

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreHasNoTransportDeps enforces the package split (STYLE.md rule 1):
// the decision core must not pull in gRPC, Envoy's protos or Redis. Only
// authz/extauthz may know Envoy.
func TestCoreHasNoTransportDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list the core's dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/appauthz/appauthz/authz").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./authz: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/appauthz/appauthz/authz" {
		t.Fatalf("unexpected go list output:\n%s", out)
	}
	for _, dep := range deps {
		for _, banned := range []string{
			"google.golang.org/grpc",
			"github.com/envoyproxy/",
			"github.com/redis/",
			"google.golang.org/protobuf",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package authz depends on %s; the core must stay free of transport and storage types", dep)
			}
		}
	}
}
