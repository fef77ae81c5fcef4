package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReadOverrides(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "v1.2.3", "abc123"
	i := Read()
	if i.Version != "v1.2.3" || i.Commit != "abc123" || i.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v", i)
	}
	if got, want := i.String(), "v1.2.3 (commit abc123, "+runtime.Version()+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestReadWithoutOverrides(t *testing.T) {
	i := Read()
	if i.Version == "" || i.Commit == "" || i.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v: every field must be set (\"unknown\" at worst)", i)
	}
}

func TestVCSRevision(t *testing.T) {
	for name, tc := range map[string]struct {
		settings []debug.BuildSetting
		want     string
	}{
		"none":  {nil, ""},
		"clean": {[]debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}, "abc"},
		"dirty": {[]debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}, "abc+dirty"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := vcsRevision(tc.settings); got != tc.want {
				t.Errorf("vcsRevision = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26.8"}.Collector())
	want := `# HELP appauthz_build_info The running build of appauthz: always 1, with its version, VCS commit and Go version as labels.
# TYPE appauthz_build_info gauge
appauthz_build_info{commit="abc",goversion="go1.26.8",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "appauthz_build_info"); err != nil {
		t.Error(err)
	}
}
