package httpauthz

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEnvoyOrGRPCDeps: the HTTP adapter speaks plain HTTP; it must not
// pull in gRPC, Envoy's protos or Redis. (google.golang.org/protobuf is
// not banned here: the Prometheus client brings it.)
func TestNoEnvoyOrGRPCDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list the package's dependencies: %v", err)
	}
	const pkg = "github.com/appauthz/appauthz/authz/httpauthz"
	out, err := exec.Command(goBin, "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != pkg {
		t.Fatalf("unexpected go list output:\n%s", out)
	}
	for _, dep := range deps {
		for _, banned := range []string{"google.golang.org/grpc", "github.com/envoyproxy/", "github.com/redis/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("httpauthz depends on %s", dep)
			}
		}
	}
}
