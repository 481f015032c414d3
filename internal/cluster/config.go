package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"metricsd/internal/store"
	"regexp"
	"strings"
	"time"
)

// Config is what a node needs to join a cluster.
type Config struct {
	// URLs are the NATS servers' client URLs (nats://host:port); the client
	// learns the rest of the NATS cluster from them.
	URLs []string
	// Node is this node's name, unique in the cluster: the owner recorded in
	// partition leases and the subject its reads are sent to.
	Node string
	// Partitions is the number of partitions when this node creates the
	// cluster; a node joining an existing cluster uses the stored number.
	// 0: DefaultPartitions.
	Partitions int
	// Limits are the per-put limits a node checks before it forwards a
	// put (store.Limits.CheckPut: MaxKeyLength, MaxFuture and the
	// retention window), so that a node refuses what a single server
	// refuses, with the same errors. MaxSeries, MaxPoints and Retention
	// need cluster-wide state and must be 0 (Validate).
	Limits store.Limits
	// Logger receives the engine's log; nil discards it.
	Logger *slog.Logger

	// LeaseTTL is how long a partition lease (and a node's heartbeat) holds
	// without renewal; renewals happen every LeaseTTL/4. It bounds how
	// long a dead node's partitions stay unanswered. 0: DefaultLeaseTTL.
	LeaseTTL time.Duration
	// BatchDelay is how long a partition's writer gathers puts before
	// publishing them as one message (group commit). 0: DefaultBatchDelay.
	BatchDelay time.Duration
	// OpTimeout bounds one put or one get, retries included; past it the
	// client is answered an error. For a read answered in chunks it bounds
	// each chunk. 0: DefaultOpTimeout.
	OpTimeout time.Duration

	// SnapshotPoints is how many points an owner applies to a partition
	// before it snapshots the partition to the Object Store (and then
	// purges the stream behind the snapshot before it): at least this
	// many, and at least a quarter of the points the partition held at
	// its last snapshot, so that rewriting a big partition stays a fixed
	// fraction of the points put. It bounds what a new owner replays
	// beyond the snapshot it loads. 0: DefaultSnapshotPoints.
	SnapshotPoints int
	// SnapshotInterval is the longest an owner waits to snapshot a
	// partition that applied anything since its last snapshot, so that a
	// slowly written partition's stream is purged too.
	// 0: DefaultSnapshotInterval.
	SnapshotInterval time.Duration
	// ReadChunk bounds, in bytes, one message of an owner's answer to a
	// read; a `get *` holds at most two of them per partition on the node
	// that writes the answer. 0: DefaultReadChunk.
	ReadChunk int
}

// Defaults of Config.
const (
	DefaultPartitions = 64
	DefaultLeaseTTL   = 3 * time.Second
	DefaultBatchDelay = time.Millisecond
	DefaultOpTimeout  = 15 * time.Second
	DefaultReadChunk  = 64 << 10

	DefaultSnapshotPoints   = 20_000
	DefaultSnapshotInterval = 5 * time.Minute
)

// Bounds of Config.ReadChunk: a chunk holds at least a record, and stays
// well within NATS's default 1 MiB message payload.
const (
	MinReadChunk = 512
	MaxReadChunk = 512 << 10
)

// MaxPartitions bounds Partitions: each one is a subject, a lease and, on
// its owner, a consumer.
const MaxPartitions = 4096

// nodeName is what a node name may be: it is a KV key and a subject token.
var nodeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks c and fills in the defaults.
func (c *Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("cluster: no NATS server URL")
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "nats://") || len(u) == len("nats://") {
			return fmt.Errorf("cluster: NATS URL %q does not start with nats://HOST", u)
		}
	}
	if !nodeName.MatchString(c.Node) {
		return fmt.Errorf("cluster: node name %q must be 1 to 64 letters, digits, '-' or '_'", c.Node)
	}
	if c.Partitions < 0 || c.Partitions > MaxPartitions {
		return fmt.Errorf("cluster: partitions %d must be between 1 and %d", c.Partitions, MaxPartitions)
	}
	if c.Limits.MaxSeries != 0 || c.Limits.MaxPoints != 0 || c.Limits.Retention != 0 {
		return errors.New("cluster: max series, max points and retention are not supported in a cluster")
	}
	if c.SnapshotPoints < 0 {
		return fmt.Errorf("cluster: snapshot points %d must not be negative", c.SnapshotPoints)
	}
	if c.LeaseTTL < 0 || c.BatchDelay < 0 || c.OpTimeout < 0 || c.SnapshotInterval < 0 {
		return errors.New("cluster: durations must not be negative")
	}
	if c.ReadChunk != 0 && (c.ReadChunk < MinReadChunk || c.ReadChunk > MaxReadChunk) {
		return fmt.Errorf("cluster: read chunk %d bytes must be between %d and %d", c.ReadChunk, MinReadChunk, MaxReadChunk)
	}
	setDefault(&c.Partitions, DefaultPartitions)
	setDefault(&c.ReadChunk, DefaultReadChunk)
	setDefault(&c.LeaseTTL, DefaultLeaseTTL)
	setDefault(&c.BatchDelay, DefaultBatchDelay)
	setDefault(&c.OpTimeout, DefaultOpTimeout)
	setDefault(&c.SnapshotPoints, DefaultSnapshotPoints)
	setDefault(&c.SnapshotInterval, DefaultSnapshotInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ParseURLs splits the --cluster flag's comma-separated URLs.
func ParseURLs(s string) []string {
	var urls []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// setDefault sets *v to def when it is the zero value.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
