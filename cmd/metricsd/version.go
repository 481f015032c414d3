package main

import (
	"context"
	"fmt"

	"metricsd/internal/buildinfo"
)

// versionUsage describes the version command.
func versionUsage() usage {
	return usage{synopsis: "version", text: "Print metricsd's version, VCS revision and time (when known), and Go version.\n" +
		"A build without VCS information takes them from -ldflags (see internal/buildinfo)."}
}

// runVersion is the version command.
func runVersion(_ context.Context, args []string, std stdio) int {
	fs := newFlagSet("version")
	if code, done := parseArgs(fs, args, versionUsage(), std); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(std, "version", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	fmt.Fprintln(std.out, buildinfo.Read())
	return exitOK
}
