package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := &debug.BuildInfo{
		Main: debug.Module{Path: "metricsd", Version: "v0.0.0-20261127131229-4fd87e4fb32e"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4fd87e4fb32e66d3a33d508e6ea85ebefd74bd1c"},
			{Key: "vcs.time", Value: "2026-11-27T13:12:29Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	plain := &debug.BuildInfo{Main: debug.Module{Path: "metricsd", Version: "(devel)"}}
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name          string
		bi            *debug.BuildInfo
		ver, rev, tim string // link-time values
		want          string // String() without the Go version and platform
	}{
		{"vcs", vcs, "", "", "",
			"metricsd v0.0.0-20261127131229-4fd87e4fb32e (revision 4fd87e4fb32e, 2026-11-27T13:12:29Z, modified)"},
		{"no vcs", plain, "", "", "", "metricsd (devel) (no VCS information: see -ldflags in internal/buildinfo)"},
		{"no build info", nil, "", "", "", "metricsd (devel) (no VCS information: see -ldflags in internal/buildinfo)"},
		{"release", plain, "v1.2.0", "abcdef0123456789", "2026-12-01T00:00:00Z",
			"metricsd v1.2.0 (revision abcdef012345, 2026-12-01T00:00:00Z)"},
		{"link-time version over vcs", vcs, "v1.2.0", "", "",
			"metricsd v1.2.0 (revision 4fd87e4fb32e, 2026-11-27T13:12:29Z, modified)"},
		{"link-time revision clears modified", vcs, "", "abc", "",
			"metricsd v0.0.0-20261127131229-4fd87e4fb32e (revision abc, 2026-11-27T13:12:29Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.ver, tt.rev, tt.tim).String()
			if got != tt.want+tail {
				t.Errorf("got  %q\nwant %q", got, tt.want+tail)
			}
		})
	}
}

func TestCollector(t *testing.T) {
	info := Info{Version: "v1.2.0", Revision: "abc", Modified: true, GoVersion: "go1.26.8"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(info.Collector())
	want := `# HELP metricsd_build_info Which metricsd build is running: always 1, with its version, VCS revision and Go version as labels.
# TYPE metricsd_build_info gauge
metricsd_build_info{goversion="go1.26.8",revision="abc-modified",version="v1.2.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "metricsd_build_info"); err != nil {
		t.Fatal(err)
	}
}
