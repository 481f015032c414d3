package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"metricsd/internal/conformance"
)

// escapeLimit is how many bytes of an expected or received reply a report
// shows before it says how many more there are.
const escapeLimit = 200

// checkUsage describes the check command.
func checkUsage() usage {
	return usage{
		synopsis: "check [--json] [--allow-known] [--prefix P] [--timeout 5s] [--only NAMES] HOST:PORT [HOST:PORT...] | check --list",
		text: `Check a server that claims the metrics protocol against metricsd's behaviour:
the course's acceptance flow, framing, replies, semantics and robustness.
Each check prints PASS, FAIL, or DIFF (the server answered as the course's
reference server does where metricsd deliberately differs, see
docs/protocol.md), with the expected and received bytes escaped, and a
summary. Every key stored starts with --prefix. Only protocol lines are sent.
With several addresses (the nodes of one cluster), a check's connections go
to them in turn, each check starting at the next one, so its puts and gets
cross nodes.

Exit status: 0 when every check passes (DIFFs too with --allow-known),
1 otherwise, 2 for a usage error.`,
	}
}

// runCheck is the check command.
func runCheck(ctx context.Context, args []string, std stdio) int {
	fs := newFlagSet("check")
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	allowKnown := fs.Bool("allow-known", false, "accept DIFFs (the reference server's known quirks) as passing")
	cfg := conformance.Config{}
	fs.StringVar(&cfg.Prefix, "prefix", conformance.DefaultPrefix, "every key a check stores starts with this `text`")
	fs.DurationVar(&cfg.Timeout, "timeout", conformance.DefaultTimeout, "bound on each check")
	fs.DurationVar(&cfg.Quiet, "quiet", conformance.DefaultQuiet,
		"how long silence must last to count as an answer (where the reference answers nothing, or after a reply a longer acceptable one would extend)")
	only := fs.String("only", "", "run only these checks (comma-separated names, see --list)")
	list := fs.Bool("list", false, "print the names of the checks, one a line, and exit")
	if code, done := parseArgs(fs, args, checkUsage(), std); done {
		return code
	}
	if *list {
		for _, name := range conformance.Names() {
			fmt.Fprintln(std.out, name)
		}
		return exitOK
	}
	if fs.NArg() == 0 {
		return usageError(std, "check", errors.New("want at least one HOST:PORT"))
	}
	cfg.Addrs = fs.Args()
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	results, err := conformance.Run(ctx, cfg)
	if err != nil {
		return usageError(std, "check", err)
	}
	if ctx.Err() != nil {
		return failure(std, "check", fmt.Errorf("interrupted after %d checks", len(results)))
	}
	var n [3]int
	for _, r := range results {
		n[r.Status]++
	}
	passed := n[conformance.Fail] == 0 && (n[conformance.Diff] == 0 || *allowKnown)
	if *asJSON {
		if err := writeCheckJSON(std.out, strings.Join(cfg.Addrs, ","), results, n, passed); err != nil {
			return failure(std, "check", err)
		}
	} else {
		writeCheckText(std.out, strings.Join(cfg.Addrs, ","), results, n, *allowKnown)
	}
	if !passed {
		return exitFailure
	}
	return exitOK
}

// writeCheckText prints one line per check and the summary.
func writeCheckText(w io.Writer, addr string, results []conformance.Result, n [3]int, allowKnown bool) {
	for _, r := range results {
		line := fmt.Sprintf("%s %s: %s", r.Status, r.Check, r.About)
		if r.Status != conformance.Pass {
			line += fmt.Sprintf(" (%s); expected %s, received %s", r.Note,
				conformance.Escape(r.Expected, escapeLimit), conformance.Escape(r.Received, escapeLimit))
		}
		fmt.Fprintln(w, line)
	}
	known := ""
	if n[conformance.Diff] > 0 {
		known = " (the reference server's quirks; --allow-known accepts them)"
		if allowKnown {
			known = " (accepted: --allow-known)"
		}
	}
	fmt.Fprintf(w, "\nmetricsd check %s: %d passed, %d failed, %d differ as the reference server does%s\n",
		addr, n[conformance.Pass], n[conformance.Fail], n[conformance.Diff], known)
}

// checkJSON is one check in --json output.
type checkJSON struct {
	Check     string  `json:"check"`
	Status    string  `json:"status"`
	About     string  `json:"about"`
	Expected  string  `json:"expected"` // escaped as in the text output
	Received  string  `json:"received"`
	Note      string  `json:"note,omitempty"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// writeCheckJSON prints the results as one JSON object.
func writeCheckJSON(w io.Writer, addr string, results []conformance.Result, n [3]int, passed bool) error {
	out := struct {
		Server string         `json:"server"`
		Checks []checkJSON    `json:"checks"`
		Counts map[string]int `json:"counts"`
		OK     bool           `json:"ok"`
	}{Server: addr, Checks: []checkJSON{}, OK: passed, Counts: map[string]int{
		"PASS": n[conformance.Pass], "FAIL": n[conformance.Fail], "DIFF": n[conformance.Diff],
	}}
	for _, r := range results {
		out.Checks = append(out.Checks, checkJSON{
			Check: r.Check, Status: r.Status.String(), About: r.About,
			Expected: conformance.Escape(r.Expected, escapeLimit), Received: conformance.Escape(r.Received, escapeLimit),
			Note: r.Note, ElapsedMS: float64(r.Elapsed) / float64(time.Millisecond),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
