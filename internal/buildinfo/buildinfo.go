// Package buildinfo says which metricsd this is: its version, VCS revision
// and time, and the Go version it was built with. `metricsd version` prints
// it and /metrics exports it as metricsd_build_info.
//
// The Go toolchain records the module version and the VCS state in the
// binary (runtime/debug.ReadBuildInfo) when it builds in a git checkout
// with -buildvcs on. A release build, or a build where the toolchain cannot
// see the VCS (go run, -buildvcs=false, a git worktree, a source tarball),
// sets them at link time instead:
//
//	go build -ldflags "-X metricsd/internal/buildinfo.version=v1.2.0 \
//	  -X metricsd/internal/buildinfo.revision=$(git rev-parse HEAD) \
//	  -X metricsd/internal/buildinfo.vcsTime=$(git log -1 --format=%cI)" ./cmd/metricsd
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags -X at link time; each one set wins over what the
// toolchain recorded.
var (
	version  string
	revision string
	vcsTime  string
)

// devel is the version of a build that knows none.
const devel = "(devel)"

// Info is one build's identity.
type Info struct {
	Version   string // module version (v1.2.0, a pseudo-version) or "(devel)"
	Revision  string // VCS revision, "" when unknown
	Time      string // VCS commit time, RFC 3339, "" when unknown
	Modified  bool   // the working tree had uncommitted changes
	GoVersion string // runtime.Version()
	Platform  string // GOOS/GOARCH
}

// Read returns this binary's Info.
func Read() Info {
	bi, _ := debug.ReadBuildInfo() // nil when built without module support
	return fromBuildInfo(bi, version, revision, vcsTime)
}

// fromBuildInfo combines what the toolchain recorded in bi (nil: nothing)
// with the link-time values, which win when set.
func fromBuildInfo(bi *debug.BuildInfo, linkVersion, linkRevision, linkTime string) Info {
	info := Info{Version: devel, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if linkVersion != "" {
		info.Version = linkVersion
	}
	if linkRevision != "" {
		info.Revision, info.Modified = linkRevision, false
	}
	if linkTime != "" {
		info.Time = linkTime
	}
	return info
}

// String is the one line `metricsd version` prints, for example
// "metricsd v1.2.0 (revision 4fd87e4fb32e, 2026-11-27T13:12:29Z) go1.26.8 linux/amd64".
func (i Info) String() string {
	var details []string
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		details = append(details, "revision "+rev)
	}
	if i.Time != "" {
		details = append(details, i.Time)
	}
	if i.Modified {
		details = append(details, "modified")
	}
	if len(details) == 0 && i.Version == devel {
		details = append(details, "no VCS information: see -ldflags in internal/buildinfo")
	}
	s := "metricsd " + i.Version
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	return s + " " + i.GoVersion + " " + i.Platform
}

// Collector is the gauge metricsd_build_info, always 1, whose labels
// version, revision and goversion say which build is running (revision ""
// when unknown, "-modified" appended for a modified working tree).
func (i Info) Collector() prometheus.Collector {
	rev := i.Revision
	if i.Modified && rev != "" {
		rev += "-modified"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "metricsd_build_info",
		Help:        "Which metricsd build is running: always 1, with its version, VCS revision and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": rev, "goversion": i.GoVersion},
	})
	g.Set(1)
	return g
}
