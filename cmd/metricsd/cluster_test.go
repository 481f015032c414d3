package main

import (
	"slices"
	"testing"
)

func TestServeClusterFlags(t *testing.T) {
	cfg, err := serveConfig([]string{"--cluster", "nats://127.0.0.1:1,nats://127.0.0.1:2", "--node", "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Cluster, []string{"nats://127.0.0.1:1", "nats://127.0.0.1:2"}) || cfg.Node != "n1" {
		t.Errorf("cluster %q node %q", cfg.Cluster, cfg.Node)
	}
	if cfg.DataDir != "" {
		t.Errorf("a cluster node keeps the default data dir %q", cfg.DataDir)
	}
	if cfg.ClusterPartitions != 64 {
		t.Errorf("partitions %d, want the default 64", cfg.ClusterPartitions)
	}
	cfg, err = serveConfig([]string{"--cluster", "nats://127.0.0.1:1", "--node", "n1", "--cluster-partitions", "128", "--data-dir", "/tmp/x"})
	if err != nil || cfg.ClusterPartitions != 128 || cfg.DataDir != "/tmp/x" {
		t.Errorf("explicit flags: %+v, %v", cfg, err)
	}
	cfg, err = serveConfig(nil)
	if err != nil || len(cfg.Cluster) != 0 || cfg.ClusterPartitions != 0 || cfg.DataDir == "" {
		t.Errorf("without --cluster: %+v, %v", cfg, err)
	}
	if cfg.ClusterReadChunk != 0 {
		t.Errorf("without --cluster: read chunk %d", cfg.ClusterReadChunk)
	}
	cfg, err = serveConfig([]string{"--cluster", "nats://127.0.0.1:1", "--node", "n1", "--cluster-read-chunk", "1024"})
	if err != nil || cfg.ClusterReadChunk != 1024 {
		t.Errorf("--cluster-read-chunk 1024: %d, %v", cfg.ClusterReadChunk, err)
	}
	for _, args := range [][]string{{"--node", "n1"}, {"--cluster-partitions", "8"}, {"--cluster-read-chunk", "1024"}} {
		if _, err := serveConfig(args); err == nil {
			t.Errorf("serveConfig(%q) accepted a cluster flag without --cluster", args)
		}
	}
}
