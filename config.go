package metricsd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"metricsd/internal/durable"
	"metricsd/internal/store"
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
	// Retention keeps the points no older than the newest timestamp stored
	// minus Retention: older puts are refused and expired points dropped
	// in the background. Timestamps are seconds, so it is whole seconds.
	// 0: keep everything.
	Retention time.Duration

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
	// Fsync is the promise of an acknowledged put with a DataDir: "always"
	// (on disk before the answer; concurrent puts share fsyncs),
	// "interval" (fsync at least every FsyncInterval; a machine crash loses
	// at most that interval) or "never" (left to the OS). Empty means
	// "interval".
	Fsync string
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
}

// Defaults of Config.
const (
	DefaultAddr          = "127.0.0.1:8888"
	DefaultMaxLineLength = 64 << 10
	DefaultMaxConns      = 10_000
	DefaultReadTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 30 * time.Second
	// DefaultDataDir is metricsd serve's data directory; the Go API's
	// default is memory only.
	DefaultDataDir = "./metricsd-data"
	DefaultFsync   = "interval"
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
	if c.MaxSeries < 0 || c.MaxPoints < 0 || c.Retention < 0 {
		return errors.New("metricsd: max series, max points and retention must not be negative")
	}
	if c.Retention > 0 && c.Retention < time.Second {
		return fmt.Errorf("metricsd: retention %v is shorter than the timestamps' one-second resolution", c.Retention)
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
	if _, err := c.durableConfig(nil); err != nil {
		return err
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
	return nil
}

// shutdownGrace is c.ShutdownGrace, or its default.
func (c Config) shutdownGrace() time.Duration {
	if c.ShutdownGrace <= 0 {
		return DefaultShutdownGrace
	}
	return c.ShutdownGrace
}

// durableConfig is the durable engine's configuration for c.
func (c Config) durableConfig(log *slog.Logger) (durable.Config, error) {
	mode := durable.FsyncInterval
	if c.Fsync != "" {
		m, err := durable.ParseFsyncMode(c.Fsync)
		if err != nil {
			return durable.Config{}, fmt.Errorf("metricsd: %w", err)
		}
		mode = m
	}
	if c.FsyncInterval < 0 {
		return durable.Config{}, fmt.Errorf("metricsd: fsync interval %v must not be negative", c.FsyncInterval)
	}
	return durable.Config{
		Dir:              c.DataDir,
		Fsync:            mode,
		FsyncInterval:    c.FsyncInterval,
		SnapshotInterval: c.SnapshotInterval,
		Logger:           log,
		Limits:           c.limits(),
	}, nil
}

// limits are the store's bounds for c.
func (c Config) limits() store.Limits {
	return store.Limits{
		MaxSeries: c.MaxSeries,
		MaxPoints: c.MaxPoints,
		Retention: int64(c.Retention / time.Second),
	}
}

// tlsConfig loads the protocol port's TLS files, or returns nil when TLS
// is off.
func (c Config) tlsConfig() (*tls.Config, error) {
	return loadTLS("protocol", c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile)
}
