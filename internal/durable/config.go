package durable

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// Defaults of Config.
const (
	DefaultFsyncInterval    = time.Second
	DefaultSnapshotInterval = 5 * time.Minute
	// DefaultSnapshotWALBytes triggers a snapshot between intervals once the
	// log has grown this much, which bounds replay time and disk use under
	// heavy load.
	DefaultSnapshotWALBytes = 4 * wal.DefaultSegmentSize
	DefaultMaxPendingBytes  = 4 << 20
	DefaultProgressInterval = 2 * time.Second
)

// Config configures an Engine.
type Config struct {
	// Dir is the data directory: the write-ahead log, snapshots, and the
	// LOCK file. Created if missing. Required.
	Dir string
	// Fsync is the durability promise of an acknowledged put: when the
	// log fsyncs (the log owns its fsyncs). The zero value is
	// wal.SyncAlways, the safe default for a library; metricsd's flag
	// default, interval, is chosen by its configuration.
	Fsync wal.SyncPolicy
	// FsyncInterval is the longest time between fsyncs under
	// wal.SyncInterval; 0 means DefaultFsyncInterval.
	FsyncInterval time.Duration
	// SnapshotInterval is how often the store is snapshotted (when the log
	// has grown since the last one); 0 means DefaultSnapshotInterval, a
	// negative value disables periodic snapshots (one is still written on
	// Close).
	SnapshotInterval time.Duration
	// SnapshotWALBytes triggers a snapshot once the log has grown by this
	// many bytes since the last one; 0 means DefaultSnapshotWALBytes,
	// negative disables the trigger.
	SnapshotWALBytes int64
	// SegmentSize bounds a log segment; 0 means wal.DefaultSegmentSize.
	SegmentSize int64
	// MaxPendingBytes bounds the log bytes waiting for the writer; puts
	// block while it is exceeded, which pushes back on clients when the
	// disk is slower than they are. 0 means DefaultMaxPendingBytes.
	MaxPendingBytes int
	// ProgressInterval is how often replay logs its progress; 0 means
	// DefaultProgressInterval.
	ProgressInterval time.Duration
	// Logger receives recovery progress, repairs and failures; nil discards.
	Logger *slog.Logger
	// Registerer, if not nil, gets the engine's and the log's metrics.
	Registerer prometheus.Registerer
	// Limits bound the store (series, points, retention, future
	// timestamps, key length); memory checks them before anything is
	// logged. Replay applies them again, so a put refused then, or expired
	// since, is skipped.
	Limits store.Limits
	// OpenFile opens log segment files; nil means the operating system's.
	// Tests inject write and fsync failures through it.
	OpenFile wal.OpenFileFunc
}

// withDefaults returns c with zero fields set to their defaults, or an
// error for a setting that can't work.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("durable: no data directory")
	}
	if c.Fsync > wal.SyncNever {
		return c, fmt.Errorf("durable: unknown %v", c.Fsync)
	}
	setDefault(&c.FsyncInterval, DefaultFsyncInterval)
	setDefault(&c.SnapshotInterval, DefaultSnapshotInterval)
	setDefault(&c.SnapshotWALBytes, DefaultSnapshotWALBytes)
	setDefault(&c.SegmentSize, wal.DefaultSegmentSize)
	setDefault(&c.MaxPendingBytes, DefaultMaxPendingBytes)
	setDefault(&c.ProgressInterval, DefaultProgressInterval)
	if c.FsyncInterval < 0 || c.MaxPendingBytes < 0 || c.ProgressInterval < 0 {
		return c, errors.New("durable: fsync interval, pending bytes and progress interval must not be negative")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
