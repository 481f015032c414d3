package metricsd

import (
	"testing"

	"metricsd/internal/buildinfo"
)

func TestMetricsExportBuildInfo(t *testing.T) {
	e := startEcoServer(t)
	info := buildinfo.Read()
	got := sample(e.scrape(t), "metricsd_build_info",
		"version", info.Version, "revision", info.Revision, "goversion", info.GoVersion)
	if got != 1 {
		t.Fatalf("metricsd_build_info{version=%q,revision=%q,goversion=%q} = %v, want 1",
			info.Version, info.Revision, info.GoVersion, got)
	}
}
