package main

import (
	"errors"
	"flag"
	"strings"

	"metricsd"
	"metricsd/internal/cluster"
)

// addClusterFlags adds the flags that make serve a cluster node.
func addClusterFlags(fs *flag.FlagSet, cfg *metricsd.Config) {
	fs.Var(urlList{&cfg.Cluster}, "cluster",
		"join a metricsd cluster on these NATS JetStream `urls` (nats://HOST:PORT, comma-separated; empty: a single server)")
	fs.StringVar(&cfg.Node, "node", cfg.Node,
		"this cluster node's unique `name` (needs --cluster)")
	fs.IntVar(&cfg.ClusterPartitions, "cluster-partitions", cluster.DefaultPartitions,
		"partitions when this node creates the cluster; fixed from then on (needs --cluster)")
	fs.IntVar(&cfg.ClusterReadChunk, "cluster-read-chunk", cluster.DefaultReadChunk,
		"`bytes` of one message of a partition owner's answer to a read; a get * holds two a partition (needs --cluster)")
}

// clusterDefaults adjusts serve's defaults for a cluster node: it keeps its
// data in JetStream, so the default data directory is dropped (an explicit
// --data-dir is left for the Config check to refuse), and the partitions
// flag's default is only passed on with --cluster.
func clusterDefaults(fs *flag.FlagSet, cfg *metricsd.Config) error {
	if len(cfg.Cluster) == 0 {
		if setFlag(fs, "cluster-partitions") || setFlag(fs, "node") || setFlag(fs, "cluster-read-chunk") {
			return errors.New("--node, --cluster-partitions and --cluster-read-chunk need --cluster")
		}
		cfg.ClusterPartitions = 0
		cfg.ClusterReadChunk = 0
		return nil
	}
	if !setFlag(fs, "data-dir") {
		cfg.DataDir = ""
	}
	return nil
}

// urlList is a comma-separated list flag.
type urlList struct{ urls *[]string }

func (u urlList) String() string {
	if u.urls == nil {
		return ""
	}
	return strings.Join(*u.urls, ",")
}

func (u urlList) Set(s string) error {
	*u.urls = cluster.ParseURLs(s)
	return nil
}
