package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionUsage describes the version command.
func versionUsage() usage {
	return usage{synopsis: "version", text: "Print metricsd's version, VCS revision (when known) and Go version."}
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
	fmt.Fprintln(std.out, versionString())
	return exitOK
}

// versionString is "metricsd <module version>[ <revision>[-dirty]] <go version>",
// from the build information the Go toolchain embeds.
func versionString() string {
	version, revision, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	s := "metricsd " + version
	if revision != "" {
		s += " " + revision
		if dirty {
			s += "-dirty"
		}
	}
	return s + " " + runtime.Version()
}
