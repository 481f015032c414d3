package metricsd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"metricsd/internal/durable"
	"metricsd/internal/graphiteweb"
	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// Config is everything a Server can be told. The command fills it from
// flags; DefaultConfig gives the documented defaults.
type Config struct {
	// Addr is the protocol's listen address (host:port).
	Addr string
	// MaxLineLength bounds a request line's bytes before its "\n"; a longer
	// line is answered with an error and skipped without being buffered.
	MaxLineLength int
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger

	// MaxConns bounds the open protocol connections; past it a new one is
	// answered "error\ntoo many connections\n\n" and closed. 0: no bound.
	MaxConns int
	// ReadTimeout bounds how long a started request line may stay
	// incomplete (slowloris). 0: no bound.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection quiet between requests for this
	// long. 0: never, as course clients keep sessions open.
	IdleTimeout time.Duration
	// WriteTimeout drops a client that does not read its answers for this
	// long: every write has at least WriteTimeout to finish, and a stuck
	// one fails within 1.5 × WriteTimeout. 0: no bound.
	WriteTimeout time.Duration

	// MaxSeries bounds the keys stored; a put that would add one more is
	// answered "error\n<limit>\n\n" and stores nothing. 0: no bound.
	MaxSeries int
	// MaxPoints bounds the points stored, likewise; replacing a stored
	// point is allowed at the bound. 0: no bound.
	MaxPoints int64
	// Retention keeps the points no older than the wall clock minus
	// Retention: older puts are refused and expired points dropped in the
	// background. It is measured against the clock, never against a
	// timestamp a client sent. Timestamps are seconds, so it is whole
	// seconds. 0: keep everything.
	Retention time.Duration
	// MaxFuture refuses puts (and Graphite lines) whose timestamp is more
	// than this ahead of the wall clock, such as a sender of milliseconds.
	// Whole seconds. 0, the default: no bound, as the course's server has
	// none.
	MaxFuture time.Duration
	// MaxKeyLength bounds a new key's bytes; a put that would create a
	// longer key is refused. Default DefaultMaxKeyLength; 0: no bound.
	MaxKeyLength int

	// TLSCertFile and TLSKeyFile, both set, serve the protocol over TLS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile, with TLS on, requires client certificates signed by
	// these CAs (mutual TLS).
	TLSClientCAFile string
	// GraphiteTLSCertFile and GraphiteTLSKeyFile, both set, serve the
	// Graphite plaintext port (GraphiteAddr) over TLS only, as the
	// protocol's TLS files do for Addr.
	GraphiteTLSCertFile, GraphiteTLSKeyFile string
	// GraphiteTLSClientCAFile, with Graphite TLS on, requires client
	// certificates signed by these CAs (mutual TLS).
	GraphiteTLSClientCAFile string

	// DataDir, when set, makes puts durable: a write-ahead log and
	// snapshots in this directory, recovered at startup, locked against a
	// second server. Empty keeps everything in memory only, as the course's
	// server and RunServer do. metricsd serve sets DefaultDataDir.
	DataDir string
	// Fsync is the promise of an acknowledged put with a DataDir (see
	// FsyncMode). The zero value is FsyncInterval.
	Fsync FsyncMode
	// FsyncInterval bounds the time between fsyncs under "interval"
	// (default and 0: one second).
	FsyncInterval time.Duration
	// SnapshotInterval is how often the store is snapshotted and the log
	// it covers deleted (default and 0: 5 minutes; negative: only at
	// shutdown).
	SnapshotInterval time.Duration

	// HTTPAddr is the HTTP API's listen address: the Graphite-web API for
	// Grafana, /metrics (Prometheus), /healthz and /readyz. Empty turns it
	// off, the Go API's default; metricsd serve sets DefaultHTTPAddr.
	HTTPAddr string
	// GraphiteAddr is the Graphite plaintext listen address (the
	// conventional port is 2003); lines land in the same store as put.
	// Empty, the default, turns it off.
	GraphiteAddr string
	// GraphiteUDPAddr is the Graphite plaintext listen address over UDP
	// (collectd's and statsd's transport; one datagram holds one or more
	// lines); lines are parsed, counted and stored as on GraphiteAddr.
	// Empty, the default, turns it off. UDP has no TLS.
	GraphiteUDPAddr string
	// Pprof serves net/http/pprof under /debug/pprof/ on HTTPAddr. Like
	// every admin route, only when WebConfigFile configures access control
	// or HTTPAddr is a loopback address (see docs/operations.md).
	Pprof bool

	// GraphiteSchemas is a file in carbon's storage-schemas.conf format
	// giving each series its step on /render (docs/graphite.md). Empty:
	// every series gets the default rule (the smallest spacing of its
	// points in the range).
	GraphiteSchemas string
	// GraphiteMaxSeries, GraphiteMaxPoints and GraphiteMaxGlobAlternatives
	// bound one /render or /metrics/find: series matched, points read or
	// built, and glob brace alternatives expanded, over all its targets
	// (0: graphiteweb's defaults, 100,000, 50,000,000 and 100,000). Past a
	// limit the answer is a 422 naming it.
	GraphiteMaxSeries           int
	GraphiteMaxPoints           int
	GraphiteMaxGlobAlternatives int
	// GraphiteQueryTimeout is one render's time budget (0: 60 s); past it
	// the answer is a 503.
	GraphiteQueryTimeout time.Duration
	// ShutdownGrace bounds how long Run waits, after its context ends, for
	// connections to finish what they have read and for HTTP requests in
	// flight; those still busy then are dropped with a warning (not an
	// error). 0: DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// WebConfigFile is a web configuration file in the format of
	// Prometheus's exporter-toolkit (TLS server config, client CA,
	// basic-auth users with bcrypt hashes), applied to every request of the
	// HTTP API, /healthz and /readyz included. Empty: plain HTTP, no
	// authentication.
	WebConfigFile string

	// Cluster, when set, makes this server a node of a metricsd cluster on
	// these NATS JetStream servers (nats://host:port URLs): puts are
	// acknowledged once replicated in JetStream, and any node answers for
	// every key (docs/cluster.md). Empty, the default, is a single server.
	// A node keeps no DataDir and has no MaxSeries, MaxPoints or Retention
	// yet.
	Cluster []string
	// Node is this node's name, unique in the cluster (letters, digits,
	// '-', '_'); required with Cluster.
	Node string
	// ClusterPartitions is the number of partitions when this node creates
	// the cluster; fixed from then on (stored in JetStream). 0: 64.
	ClusterPartitions int

	// openSegment, if set, opens the log's segment files: tests hold or
	// fail them to watch a recovery or a disk failure end to end.
	openSegment wal.OpenFileFunc
}

// FsyncMode is what an acknowledged put promises with a DataDir. It is a
// flag.Value ("always", "interval", "never").
type FsyncMode uint8

// The fsync modes (docs/operations.md has the promise table).
const (
	// FsyncInterval, the default: the record is written to the operating
	// system before the ok, and fsynced at least every FsyncInterval: a
	// crash of the process loses nothing acknowledged, a crash of the
	// machine at most the last interval.
	FsyncInterval FsyncMode = iota
	// FsyncAlways: the record is written and fsynced before the ok;
	// concurrent and pipelined puts share one fsync (group commit).
	FsyncAlways
	// FsyncNever: the record is written to the operating system before the
	// ok; flushing it to disk is left to the OS (and done when a log
	// segment is full and at shutdown).
	FsyncNever
)

var fsyncNames = [...]string{FsyncInterval: "interval", FsyncAlways: "always", FsyncNever: "never"}

// String is the mode's name, as --fsync takes it.
func (m FsyncMode) String() string {
	if int(m) < len(fsyncNames) {
		return fsyncNames[m]
	}
	return fmt.Sprintf("FsyncMode(%d)", m)
}

// Set implements flag.Value: it parses "always", "interval" or "never".
func (m *FsyncMode) Set(s string) error {
	for i, name := range fsyncNames {
		if s == name {
			*m = FsyncMode(i)
			return nil
		}
	}
	return fmt.Errorf("fsync mode %q: want always, interval or never", s)
}

// Defaults of Config.
const (
	DefaultAddr          = "127.0.0.1:8888"
	DefaultMaxLineLength = 64 << 10
	DefaultMaxConns      = 10_000
	DefaultReadTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 30 * time.Second
	// DefaultMaxKeyLength bounds keys (the course's server has no bound).
	DefaultMaxKeyLength = 4096
	// DefaultDataDir is metricsd serve's data directory; the Go API's
	// default is memory only.
	DefaultDataDir = "./metricsd-data"
	DefaultFsync   = FsyncInterval
	// DefaultHTTPAddr is metricsd serve's HTTP API address; the Go API
	// serves no HTTP unless asked.
	DefaultHTTPAddr = "127.0.0.1:8889"
	// DefaultShutdownGrace is Run's grace period: under the 30 s that
	// Kubernetes and systemd give before SIGKILL.
	DefaultShutdownGrace = 10 * time.Second
)

// DefaultConfig returns the configuration documented in the README.
func DefaultConfig() Config {
	return Config{
		Addr:          DefaultAddr,
		MaxLineLength: DefaultMaxLineLength,
		MaxConns:      DefaultMaxConns,
		ReadTimeout:   DefaultReadTimeout,
		WriteTimeout:  DefaultWriteTimeout,
		MaxKeyLength:  DefaultMaxKeyLength,

		Fsync:            DefaultFsync,
		FsyncInterval:    durable.DefaultFsyncInterval,
		SnapshotInterval: durable.DefaultSnapshotInterval,
		ShutdownGrace:    DefaultShutdownGrace,
	}
}

func (c Config) validate() error {
	if c.MaxLineLength < 1 {
		return fmt.Errorf("metricsd: max line length %d must be at least 1", c.MaxLineLength)
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("metricsd: max conns %d must not be negative", c.MaxConns)
	}
	if c.ReadTimeout < 0 || c.IdleTimeout < 0 || c.WriteTimeout < 0 {
		return errors.New("metricsd: timeouts must not be negative")
	}
	if c.MaxSeries < 0 || c.MaxPoints < 0 || c.Retention < 0 || c.MaxFuture < 0 || c.MaxKeyLength < 0 {
		return errors.New("metricsd: max series, max points, retention, max future and max key length must not be negative")
	}
	if c.Retention > 0 && c.Retention < time.Second {
		return fmt.Errorf("metricsd: retention %v is shorter than the timestamps' one-second resolution", c.Retention)
	}
	if c.MaxFuture > 0 && c.MaxFuture < time.Second {
		return fmt.Errorf("metricsd: max future %v is shorter than the timestamps' one-second resolution", c.MaxFuture)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("metricsd: TLS needs both a certificate and a key file")
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		return errors.New("metricsd: a client CA file needs TLS (certificate and key files)")
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if err := c.validateGraphiteTLS(); err != nil {
		return err
	}
	if c.Fsync > FsyncNever {
		return fmt.Errorf("metricsd: unknown fsync mode %d", c.Fsync)
	}
	if c.FsyncInterval < 0 {
		return fmt.Errorf("metricsd: fsync interval %v must not be negative", c.FsyncInterval)
	}
	if c.Pprof && c.HTTPAddr == "" {
		return errors.New("metricsd: pprof is served on the HTTP API, which has no address")
	}
	if c.ShutdownGrace < 0 {
		return fmt.Errorf("metricsd: shutdown grace %v must not be negative", c.ShutdownGrace)
	}
	if c.WebConfigFile != "" && c.HTTPAddr == "" {
		return errors.New("metricsd: a web config file applies to the HTTP API, which has no address")
	}
	if err := c.graphiteLimits().Validate(); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	return nil
}

// graphiteLimits are the query limits of c.
func (c Config) graphiteLimits() graphiteweb.Limits {
	return graphiteweb.Limits{
		MaxSeries:       c.GraphiteMaxSeries,
		MaxPoints:       c.GraphiteMaxPoints,
		MaxAlternatives: c.GraphiteMaxGlobAlternatives,
		Timeout:         c.GraphiteQueryTimeout,
	}
}

// graphiteSchemas reads the GraphiteSchemas file (nil when unset).
func (c Config) graphiteSchemas() (*graphiteweb.Schemas, error) {
	if c.GraphiteSchemas == "" {
		return nil, nil
	}
	f, err := os.Open(c.GraphiteSchemas)
	if err != nil {
		return nil, fmt.Errorf("metricsd: graphite schemas: %w", err)
	}
	defer f.Close()
	s, err := graphiteweb.ParseSchemas(f)
	if err != nil {
		return nil, fmt.Errorf("metricsd: graphite schemas %s: %w", c.GraphiteSchemas, err)
	}
	return s, nil
}

// shutdownGrace is c.ShutdownGrace, or its default.
func (c Config) shutdownGrace() time.Duration {
	if c.ShutdownGrace <= 0 {
		return DefaultShutdownGrace
	}
	return c.ShutdownGrace
}

// durableConfig is the durable engine's configuration for c, which
// validate has checked.
func (c Config) durableConfig(log *slog.Logger) durable.Config {
	modes := [...]wal.SyncPolicy{FsyncInterval: wal.SyncInterval, FsyncAlways: wal.SyncAlways, FsyncNever: wal.SyncNever}
	return durable.Config{
		Dir:              c.DataDir,
		Fsync:            modes[c.Fsync],
		FsyncInterval:    c.FsyncInterval,
		SnapshotInterval: c.SnapshotInterval,
		Logger:           log,
		Limits:           c.limits(),
		OpenFile:         c.openSegment,
	}
}

// limits are the store's bounds for c.
func (c Config) limits() store.Limits {
	return store.Limits{
		MaxSeries:    c.MaxSeries,
		MaxPoints:    c.MaxPoints,
		Retention:    int64(c.Retention / time.Second),
		MaxFuture:    int64(c.MaxFuture / time.Second),
		MaxKeyLength: c.MaxKeyLength,
	}
}

// tlsConfig loads the protocol port's TLS files, or returns nil when TLS
// is off.
func (c Config) tlsConfig() (*tls.Config, error) {
	return loadTLS("protocol", c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile)
}
