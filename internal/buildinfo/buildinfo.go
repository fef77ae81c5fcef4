// Package buildinfo says which build of appauthz is running: for
// `authzd --version`, `authzctl version` and the appauthz_build_info
// metric, so an operator can tell which release each replica runs.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Version and Commit override what the Go toolchain records, for builds
// without VCS information (the Dockerfile builds with -buildvcs=false):
//
//	go build -ldflags "-X github.com/appauthz/appauthz/internal/buildinfo.Version=v1.2.3 \
//	  -X github.com/appauthz/appauthz/internal/buildinfo.Commit=$(git rev-parse HEAD)"
var (
	Version string
	Commit  string
)

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}

// unknown stands for a value neither the linker nor the toolchain gave.
const unknown = "unknown"

// Read returns this binary's build: the -X overrides, else the main
// module's version and VCS revision from debug.ReadBuildInfo ("+dirty"
// when the work tree had changes), else "unknown".
func Read() Info {
	i := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" {
			i.Commit = vcsRevision(bi.Settings)
		}
	}
	if i.Version == "" {
		i.Version = unknown
	}
	if i.Commit == "" {
		i.Commit = unknown
	}
	return i
}

func vcsRevision(settings []debug.BuildSetting) string {
	var rev, dirty string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// String is the one line `--version` prints, e.g.
// "authzd v1.2.3 (commit 0a1b2c…, go1.26.8)".
func (i Info) String() string {
	return i.Version + " (commit " + i.Commit + ", " + i.GoVersion + ")"
}

// Collector is the appauthz_build_info gauge: always 1, the build in its
// labels, as Prometheus's own *_build_info metrics.
func (i Info) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "appauthz_build_info",
		Help:        "The running build of appauthz: always 1, with its version, VCS commit and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": i.Version, "commit": i.Commit, "goversion": i.GoVersion},
	}, func() float64 { return 1 })
}
