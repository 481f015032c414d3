package cluster

import (
	"errors"
	"fmt"
	"log/slog"
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
	// client is answered an error. 0: DefaultOpTimeout.
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
}

// Defaults of Config.
const (
	DefaultPartitions = 64
	DefaultLeaseTTL   = 3 * time.Second
	DefaultBatchDelay = time.Millisecond
	DefaultOpTimeout  = 15 * time.Second

	DefaultSnapshotPoints   = 20_000
	DefaultSnapshotInterval = 5 * time.Minute
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
	if c.SnapshotPoints < 0 {
		return fmt.Errorf("cluster: snapshot points %d must not be negative", c.SnapshotPoints)
	}
	if c.LeaseTTL < 0 || c.BatchDelay < 0 || c.OpTimeout < 0 || c.SnapshotInterval < 0 {
		return errors.New("cluster: durations must not be negative")
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = DefaultBatchDelay
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.SnapshotPoints == 0 {
		c.SnapshotPoints = DefaultSnapshotPoints
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
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
