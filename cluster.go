package metricsd

import (
	"errors"
	"fmt"
	"log/slog"

	"metricsd/internal/cluster"
	"metricsd/internal/store"
)

// clusterConfig is the cluster engine's configuration for c.
func (c Config) clusterConfig(log *slog.Logger) cluster.Config {
	return cluster.Config{
		URLs:       c.Cluster,
		Node:       c.Node,
		Partitions: c.ClusterPartitions,
		ReadChunk:  c.ClusterReadChunk,
		Logger:     log,
		Limits:     c.limits(),
	}
}

// validateCluster checks the cluster fields: without Cluster, none of them
// may be set; with it, the single-node storage options that the cluster
// does not have yet are refused rather than silently ignored.
func (c Config) validateCluster() error {
	if len(c.Cluster) == 0 {
		if c.Node != "" || c.ClusterPartitions != 0 || c.ClusterReadChunk != 0 {
			return errors.New("metricsd: a node name, cluster partitions and a cluster read chunk need a cluster (NATS URLs)")
		}
		return nil
	}
	if c.DataDir != "" {
		return errors.New("metricsd: a cluster node keeps its data in NATS JetStream, not in a data directory")
	}
	if c.MaxSeries != 0 || c.MaxPoints != 0 || c.Retention != 0 {
		return errors.New("metricsd: max series, max points and retention are not supported in a cluster yet")
	}
	cfg := c.clusterConfig(nil)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	return nil
}

// newCluster builds the cluster node that cfg names; its Start joins.
func newCluster(cfg Config, log *slog.Logger) (store.Engine, error) {
	e, err := cluster.New(cfg.clusterConfig(log))
	if err != nil {
		return nil, fmt.Errorf("metricsd: %w", err)
	}
	return e, nil
}
