package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"metricsd"
)

// serveUsage describes the serve command.
func serveUsage() usage {
	return usage{
		synopsis: "serve [flags]",
		text: `Serve the metrics protocol until SIGINT or SIGTERM, then shut down
gracefully. The log goes to stderr; its first line says where the server
listens ("metricsd listening" addr=HOST:PORT), with the port actually bound
when --addr asks for port 0. The HTTP API (Graphite-web API for Grafana,
/metrics, /healthz, /readyz) and the Graphite plaintext port log
"http listening" and "graphite listening" the same way.`,
	}
}

// newServeFlagSet returns the serve flags, bound to the fields of cfg, whose
// current values are the defaults. Flags for new Config fields go here.
func newServeFlagSet(cfg *metricsd.Config) *flag.FlagSet {
	fs := newFlagSet("serve")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr,
		"listen `address` host:port (port 0 picks a free port)")
	fs.IntVar(&cfg.MaxLineLength, "max-line-length", cfg.MaxLineLength,
		"longest request line in `bytes`; a longer line is answered with an error")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns,
		"most open protocol `connections`; more are refused (0: no limit)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout,
		"longest a started request line may stay incomplete (0: no limit)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout,
		"close connections quiet between requests for this long (0: never)")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout,
		"drop a client that does not read its answers for this long (within 1.5 × this; 0: never)")
	fs.IntVar(&cfg.MaxSeries, "max-series", cfg.MaxSeries,
		"most keys stored; a put for one more is refused (0: no limit)")
	fs.Int64Var(&cfg.MaxPoints, "max-points", cfg.MaxPoints,
		"most points stored; a put adding one more is refused (0: no limit)")
	fs.Var(retentionValue{&cfg.Retention}, "retention",
		"keep points no older than the wall clock minus this `window`, e.g. 30d, 2w, 36h (0: forever)")
	fs.Var(retentionValue{&cfg.MaxFuture}, "max-future",
		"refuse puts and Graphite lines more than this `duration` ahead of the wall clock, e.g. 1h, 1d (0: no bound)")
	fs.IntVar(&cfg.MaxKeyLength, "max-key-length", cfg.MaxKeyLength,
		"longest key in `bytes`; a put creating a longer one is refused (0: no limit)")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", cfg.TLSCertFile,
		"serve TLS with this PEM certificate `file` (needs --tls-key)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", cfg.TLSKeyFile,
		"PEM private key `file` of --tls-cert")
	fs.StringVar(&cfg.TLSClientCAFile, "tls-client-ca", cfg.TLSClientCAFile,
		"require client certificates signed by the CAs in this PEM `file` (mutual TLS)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir,
		"keep the data durable in this `directory` (write-ahead log, snapshots); empty: in memory")
	fs.Bool("in-memory", false,
		"keep the data in memory only, like the course's server: nothing survives a restart")
	fs.Var(&cfg.Fsync, "fsync",
		"what an ok promises, `mode` always (written and fsynced before the ok), interval, the default (written to the OS before the ok, fsynced every --fsync-interval: a process crash loses nothing acknowledged, a machine crash at most the interval) or never (written to the OS before the ok, flushing left to it)")
	fs.DurationVar(&cfg.FsyncInterval, "fsync-interval", cfg.FsyncInterval,
		"longest time between fsyncs with --fsync=interval")
	fs.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", cfg.SnapshotInterval,
		"how often to snapshot the store and delete the log it covers (negative: only at shutdown)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr,
		"HTTP API `address`: Graphite-web API for Grafana, /metrics, /healthz, /readyz (empty: off)")
	fs.StringVar(&cfg.GraphiteAddr, "graphite-addr", cfg.GraphiteAddr,
		"Graphite plaintext `address`, conventionally port 2003 (empty: off)")
	fs.StringVar(&cfg.GraphiteUDPAddr, "graphite-udp-addr", cfg.GraphiteUDPAddr,
		"Graphite plaintext over UDP `address`, one datagram = one or more lines, e.g. collectd's (empty: off)")
	fs.StringVar(&cfg.GraphiteTLSCertFile, "graphite-tls-cert", cfg.GraphiteTLSCertFile,
		"serve the Graphite port over TLS only, with this PEM certificate `file` (needs --graphite-tls-key)")
	fs.StringVar(&cfg.GraphiteTLSKeyFile, "graphite-tls-key", cfg.GraphiteTLSKeyFile,
		"PEM private key `file` of --graphite-tls-cert")
	fs.StringVar(&cfg.GraphiteTLSClientCAFile, "graphite-tls-client-ca", cfg.GraphiteTLSClientCAFile,
		"require Graphite clients' certificates signed by the CAs in this PEM `file` (mutual TLS)")
	fs.BoolVar(&cfg.Pprof, "pprof", cfg.Pprof,
		"serve net/http/pprof under /debug/pprof/ on the HTTP API (only with access control or a loopback --http-addr)")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace,
		"on SIGTERM/SIGINT, wait this long for busy connections, then drop them with a warning and exit 0")
	fs.StringVar(&cfg.WebConfigFile, "web-config-file", cfg.WebConfigFile,
		"TLS and basic-auth configuration `file` of the HTTP API, in Prometheus exporter-toolkit's web config format")
	fs.StringVar(&cfg.GraphiteSchemas, "graphite-schemas", cfg.GraphiteSchemas,
		"carbon storage-schemas.conf `file` giving each series its /render step (empty: the smallest spacing of its points)")
	fs.IntVar(&cfg.GraphiteMaxSeries, "graphite-max-series", cfg.GraphiteMaxSeries,
		"series one /render or /metrics/find may match (0: 100000)")
	fs.IntVar(&cfg.GraphiteMaxPoints, "graphite-max-points", cfg.GraphiteMaxPoints,
		"points one /render may read or build (0: 50000000)")
	fs.IntVar(&cfg.GraphiteMaxGlobAlternatives, "graphite-max-glob-alternatives", cfg.GraphiteMaxGlobAlternatives,
		"glob brace alternatives one /render or /metrics/find may expand (0: 100000)")
	fs.DurationVar(&cfg.GraphiteQueryTimeout, "graphite-query-timeout", cfg.GraphiteQueryTimeout,
		"time budget of one /render; past it the answer is 503 (0: 60s)")
	addClusterFlags(fs, cfg)
	addLogFlags(fs)
	return fs
}

// serveDefaults is the configuration serve starts from, before flags:
// the Go API's defaults plus what a server run from the command line is
// expected to have: durable data in ./metricsd-data, and the HTTP API (for
// Prometheus, Grafana, probes).
func serveDefaults() metricsd.Config {
	cfg := metricsd.DefaultConfig()
	cfg.DataDir = metricsd.DefaultDataDir
	cfg.HTTPAddr = metricsd.DefaultHTTPAddr
	return cfg
}

// serveConfig builds the server's Config from the serve command's
// arguments. It returns flag.ErrHelp for --help.
func serveConfig(args []string) (metricsd.Config, error) {
	cfg, _, err := parseServe(args)
	return cfg, err
}

// parseServe is serveConfig, also returning the parsed flags, whose log
// flags build the Logger (newLogger).
func parseServe(args []string) (metricsd.Config, *flag.FlagSet, error) {
	cfg, fs, err := parseServeFlags(args)
	if err != nil {
		return cfg, fs, err
	}
	if _, err := newLogger(fs, io.Discard); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, nil
}

// parseServeFlags parses and checks the Config flags.
func parseServeFlags(args []string) (metricsd.Config, *flag.FlagSet, error) {
	cfg := serveDefaults()
	fs := newServeFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	if fs.Lookup("in-memory").Value.String() == "true" {
		if setFlag(fs, "data-dir") {
			return cfg, fs, errors.New("--in-memory and --data-dir contradict each other")
		}
		cfg.DataDir = ""
	}
	if err := clusterDefaults(fs, &cfg); err != nil {
		return cfg, fs, err
	}
	if fs.NArg() > 0 {
		return cfg, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Addr == "" {
		return cfg, fs, errors.New("--addr must not be empty")
	}
	// The product's rules on the values (limits, TLS files, --pprof
	// needing --http-addr) are Config's: NewServer checks them once, and
	// runServe prints its error.
	return cfg, fs, nil
}

// setFlag reports whether the command line set the flag name.
func setFlag(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runServe is the serve command.
func runServe(ctx context.Context, args []string, std stdio) int {
	cfg, fs, err := parseServe(args)
	if errors.Is(err, flag.ErrHelp) {
		defaults := serveDefaults()
		serveUsage().print(std.out, newServeFlagSet(&defaults))
		return exitOK
	}
	if err != nil {
		return usageError(std, "serve", err)
	}
	log, err := newLogger(fs, std.err)
	if err != nil { // parseServe checked the flags
		return usageError(std, "serve", err)
	}
	cfg.Logger = log
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		return usageError(std, "serve", err)
	}
	// The server logs "metricsd listening" with the bound address once
	// it accepts on the protocol port.
	if err := srv.Run(ctx); err != nil {
		log.Error("metricsd failed", "err", err)
		return exitFailure
	}
	return exitOK
}
