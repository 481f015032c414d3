package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"metricsd/internal/loadgen"
)

// benchUsage describes the bench command.
func benchUsage() usage {
	return usage{
		synopsis: "bench [flags]",
		text: `Load a metrics server and report throughput, latency percentiles (p50,
p90, p99, p99.9, max) and errors. -c connections each keep -P requests in
flight (P requests written at once, then their P answers read). The run
stops after -n requests or --duration, whichever comes first. Every answer is
checked: a put must be answered "ok\n\n" exactly; anything else is an error.

Workloads: put, get (cycles over the keys), mixed (--get-ratio gets),
getall (times "get *" round trips), graphite (streams "<path> <value> <ts>"
lines to a Graphite plaintext port with no answers, then confirms what was
stored with --verify-addr, a metricsd protocol port counted with "get *",
or --verify-url and --verify-metric, a Prometheus text endpoint such as
VictoriaMetrics's /metrics and vm_rows_inserted_total{type="graphite"}).

--addr takes several comma-separated targets (the nodes of a cluster):
the connections are dealt over them in turn, and one report covers all.

Only loopback targets are allowed unless --allow-remote is given. The live
progress line goes to stderr when it is a terminal, or with --progress.
Exit status: 0 when every request succeeded, 1 when any failed or the run
could not happen, 2 for a usage error.`,
	}
}

// benchFlags are the bench command's flags besides the loadgen Config.
type benchFlags struct {
	json         bool
	progress     bool
	workload     string
	order        string
	values       string
	verifyAddr   string
	verifyURL    string
	verifyMetric string
}

// newBenchFlagSet binds the bench flags to cfg, whose values are the
// defaults, and to bf.
func newBenchFlagSet(cfg *loadgen.Config, bf *benchFlags) *flag.FlagSet {
	fs := newFlagSet("bench")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr,
		"target `host:port` (the Graphite port for --workload graphite), or several comma-separated: connection i dials the (i mod n)-th")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.IntVar(&cfg.Connections, "c", cfg.Connections, "concurrent `connections`")
	fs.IntVar(&cfg.Pipeline, "P", cfg.Pipeline, "pipeline `depth`: requests in flight per connection (1 = wait for each answer)")
	fs.Int64Var(&cfg.Requests, "n", cfg.Requests, "total `requests` (0 = until --duration)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "stop after this long (0 = after -n requests)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "bound on dialling and on each window's I/O (a hung window fails after 1 to 1.5 × this)")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "distinct `keys`")
	fs.StringVar(&cfg.KeyPrefix, "key-prefix", cfg.KeyPrefix, "keys are `prefix` + zero-padded index")
	fs.BoolVar(&cfg.Spread, "spread", false,
		"send every key on every connection (default: each connection owns 1/c of the keys and sends them in order)")
	fs.StringVar(&bf.workload, "workload", string(cfg.Workload), "`kind`: "+joinKinds(loadgen.Workloads))
	fs.Float64Var(&cfg.GetRatio, "get-ratio", cfg.GetRatio, "mixed workload: `fraction` of gets")
	fs.StringVar(&bf.order, "order", string(cfg.Order), "timestamp `order` within a key: "+joinKinds(loadgen.Orders))
	fs.StringVar(&bf.values, "values", string(cfg.Values), "value `shape`: "+joinKinds(loadgen.Shapes))
	fs.BoolVar(&cfg.NonFinite, "nonfinite", false, "float64 values may be NaN or ±Inf")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random `seed`: the same seed sends the same data")
	fs.Int64Var(&cfg.Start, "start", 0, "first `timestamp` (0 = now minus the points per key)")
	fs.BoolVar(&bf.json, "json", false, "print the report as JSON")
	fs.BoolVar(&bf.progress, "progress", false, "show the progress line even when stderr is not a terminal")
	fs.StringVar(&bf.verifyAddr, "verify-addr", "", "graphite: metricsd protocol `address` whose get * counts what was stored")
	fs.StringVar(&bf.verifyURL, "verify-url", "", "graphite: Prometheus text `URL` that counts what was stored")
	fs.StringVar(&bf.verifyMetric, "verify-metric", "", "graphite: the `series` to sum at --verify-url")
	fs.DurationVar(&cfg.VerifyTimeout, "verify-timeout", cfg.VerifyTimeout, "graphite: how long to wait for the stored count")
	return fs
}

// joinKinds lists enumerated flag values for the help text.
func joinKinds[T ~string](kinds []T) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// benchConfig builds the loadgen Config from bench's arguments.
func benchConfig(fs *flag.FlagSet, cfg loadgen.Config, bf benchFlags) (loadgen.Config, error) {
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Workload = loadgen.Workload(bf.workload)
	cfg.Order = loadgen.Order(bf.order)
	cfg.Values = loadgen.Shape(bf.values)
	switch {
	case bf.verifyAddr != "" && bf.verifyURL != "":
		return cfg, errors.New("give --verify-addr or --verify-url, not both")
	case bf.verifyAddr != "":
		cfg.Verify = loadgen.ProtocolCounter{Addr: bf.verifyAddr, Timeout: cfg.Timeout}
	case bf.verifyURL != "":
		if bf.verifyMetric == "" {
			return cfg, errors.New("--verify-url needs --verify-metric")
		}
		cfg.Verify = loadgen.MetricCounter{URL: bf.verifyURL, Metric: bf.verifyMetric}
	}
	return cfg, cfg.Validate()
}

// runBench is the bench command.
func runBench(ctx context.Context, args []string, std stdio) int {
	cfg := loadgen.DefaultConfig()
	var bf benchFlags
	fs := newBenchFlagSet(&cfg, &bf)
	if code, done := parseArgs(fs, args, benchUsage(), std); done {
		return code
	}
	cfg, err := benchConfig(fs, cfg, bf)
	if err != nil {
		return usageError(std, "bench", err)
	}
	if bf.progress || isTerminal(std.err) {
		cfg.Progress = loadgen.ProgressLine(std.err)
	}
	res, err := loadgen.Run(ctx, cfg)
	if errors.Is(err, loadgen.ErrRemote) {
		return usageError(std, "bench", err)
	}
	if res.Requests > 0 {
		if werr := writeReport(std.out, res, bf.json); werr != nil {
			return failure(std, "bench", werr)
		}
	}
	switch {
	case err != nil:
		return failure(std, "bench", err)
	case res.Errors.Total > 0:
		return failure(std, "bench", fmt.Errorf("%d of %d requests failed", res.Errors.Total, res.Requests))
	}
	return exitOK
}

// writeReport prints the result as text or JSON.
func writeReport(w io.Writer, res loadgen.Result, asJSON bool) error {
	if asJSON {
		return res.WriteJSON(w)
	}
	return res.WriteText(w)
}

// isTerminal reports whether w is a terminal, where a "\r"-updated line
// makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
