package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"metricsd"
)

// repairUsage describes the repair command.
func repairUsage() usage {
	return usage{
		synopsis: "repair --data-dir DIR",
		text: `Make a data directory that 'metricsd serve' refused to start on (a damaged
log record, a missing segment or snapshot, a damaged snapshot) start again.
It runs offline: it takes DIR's lock and refuses while a server uses DIR.
It keeps every record it can, copies whatever it drops into
DIR/repair-<time>/ before changing a file, and prints what it did and how
many records, points and bytes it dropped. On a healthy directory it changes
nothing. Copy DIR aside first if you may want to try a backup instead:
see docs/operations.md.

Exit status: 0 when DIR now starts (repaired, or nothing to do), 1 when the
repair failed (DIR in use, I/O error), 2 for a usage error.`,
	}
}

// runRepair is the repair command.
func runRepair(_ context.Context, args []string, std stdio) int {
	fs := newFlagSet("repair")
	dir := fs.String("data-dir", "", "the data directory to repair (required)")
	if code, done := parseArgs(fs, args, repairUsage(), std); done {
		return code
	}
	if *dir == "" {
		return usageError(std, "repair", errors.New("--data-dir is required"))
	}
	if fs.NArg() != 0 {
		return usageError(std, "repair", fmt.Errorf("want no arguments, got %d", fs.NArg()))
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return failure(std, "repair", fmt.Errorf("%s is not a data directory", *dir))
	}
	rep, err := metricsd.Repair(*dir)
	for _, a := range rep.Actions {
		fmt.Fprintf(std.out, "%s\n", a)
	}
	if err != nil {
		return failure(std, "repair", err)
	}
	if !rep.Changed() {
		fmt.Fprintf(std.out, "nothing to repair in %s\n", *dir)
		return exitOK
	}
	where := "nothing was moved aside"
	if rep.SideDir != "" {
		where = "moved to " + rep.SideDir
	}
	fmt.Fprintf(std.out, "repaired %s: dropped %d records (%d points counted), %d bytes; %s\n",
		*dir, rep.Records, rep.Points, rep.Bytes, where)
	return exitOK
}
