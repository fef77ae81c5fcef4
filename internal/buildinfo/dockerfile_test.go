package buildinfo

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Dockerfile builds without VCS data, so its -X flags are the only
// source of the version: they must name this package's variables, and
// both runtime stages must carry the OCI labels.
func TestDockerfileStampsVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	const pkg = "github.com/appauthz/appauthz/internal/buildinfo"
	for _, want := range []string{"-X " + pkg + ".Version=${VERSION}", "-X " + pkg + ".Commit=${COMMIT}"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks the ldflag %q", want)
		}
	}
	stages := regexp.MustCompile(`(?m)^FROM `).Split(df, -1)[1:]
	checked := 0
	for _, stage := range stages {
		name := strings.Fields(strings.SplitN(stage, "\n", 2)[0])
		if len(name) < 3 || name[1] != "AS" || (name[2] != "authzd" && name[2] != "seed") {
			continue
		}
		checked++
		for _, want := range []string{"ARG VERSION", "ARG COMMIT", `org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.revision="${COMMIT}"`, "org.opencontainers.image.title="} {
			if !strings.Contains(stage, want) {
				t.Errorf("Dockerfile stage %s lacks %s", name[2], want)
			}
		}
	}
	if checked != 2 {
		t.Errorf("found %d of the stages authzd and seed in the Dockerfile", checked)
	}
}
