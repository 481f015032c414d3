package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionFromLdflags builds the binary as a release would and checks
// that the -X names documented in internal/buildinfo take effect.
func TestVersionFromLdflags(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "metricsd")
	ctx, cancel := context.WithTimeout(t.Context(), 10*testTimeout)
	defer cancel()
	ldflags := "-X metricsd/internal/buildinfo.version=v9.8.7" +
		" -X metricsd/internal/buildinfo.revision=0123456789abcdef0123" +
		" -X metricsd/internal/buildinfo.vcsTime=2026-12-01T00:00:00Z"
	build := exec.CommandContext(ctx, goCmd, "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		t.Fatalf("metricsd version: %v", err)
	}
	want := "metricsd v9.8.7 (revision 0123456789ab, 2026-12-01T00:00:00Z) go"
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("version printed %q, want it to start with %q", out, want)
	}
}
