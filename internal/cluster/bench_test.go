package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// BenchmarkPut measures acknowledged puts through one node of a 3-node
// NATS cluster, from 64 concurrent callers (as many clients), against
// BenchmarkPublishAlone, the same callers publishing one point each
// straight to an R3 stream: the ratio is what batching and the cluster
// engine add or save. Run both in one process (shared machines vary).
func BenchmarkPut(b *testing.B) {
	c := natstest.Start(b, 3)
	e := openNode(b, c.URLs(), "bench", 64)
	waitBalanced(b, []*Engine{e})
	for _, delay := range []time.Duration{DefaultBatchDelay, time.Nanosecond} {
		e.cfg.BatchDelay = delay
		b.Run("delay="+delay.String(), func(b *testing.B) { benchPut(b, e) })
	}
}

func benchPut(b *testing.B, e *Engine) {
	var next atomic.Int64
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			key := []byte(fmt.Sprintf("bench.%d", i%1000))
			if err := e.Put(key, store.Point{Timestamp: i, Value: float64(i)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPublishAlone: JetStream's own ceiling for one acknowledged
// publish per point on this machine (see BenchmarkPut).
func BenchmarkPublishAlone(b *testing.B) {
	c := natstest.Start(b, 3)
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Replicas: 3, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	payload := appendRecord(nil, []byte("bench.1"), 1, store.Point{Timestamp: 1, Value: 1})
	var next atomic.Int64
	b.SetParallelism(64)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := js.Publish(ctx, fmt.Sprintf("b.%d", i%64), payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// replayPoints is the size of the partition BenchmarkReplay replays: large
// enough to measure, small enough for the suite's one-iteration run.
const replayPoints = 200_000

// BenchmarkReplay measures how fast a node that claims a partition
// rebuilds it (failover time is one lease TTL plus this): it publishes
// replayPoints points to one partition, then times a fresh partition
// reaching its read barrier, first by replaying the stream from its start
// (from=stream), then by loading a snapshot of it from the Object Store
// (from=snapshot; the node snapshots only when told to here).
func BenchmarkReplay(b *testing.B) {
	c := natstest.Start(b, 3)
	e := openNode(b, c.URLs(), "replay", 64, func(c *Config) { c.SnapshotPoints = 1 << 40; c.SnapshotInterval = time.Hour })
	waitBalanced(b, []*Engine{e})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var buf []byte
	flush := func() {
		if _, err := e.js.Publish(ctx, partSubject(0), buf); err != nil {
			b.Fatal(err)
		}
		buf = buf[:0]
	}
	for i := range replayPoints {
		buf = appendRecord(buf, []byte(fmt.Sprintf("replay.%d", i%1000)), uint64(i%1000+1), store.Point{Timestamp: int64(i), Value: float64(i%100) / 4})
		if len(buf) > maxBatchBytes-64 {
			flush()
		}
	}
	flush()
	rebuild := func(b *testing.B, wantBase bool) {
		for range b.N {
			part := newPartition(e, 0)
			if err := part.start(); err != nil {
				b.Fatal(err)
			}
			if err := part.barrier(ctx); err != nil {
				b.Fatal(err)
			}
			part.stop()
			if _, points := part.memory().Stats(); points != replayPoints {
				b.Fatalf("rebuilt %d points, want %d", points, replayPoints)
			}
			if got := part.base != 0; got != wantBase {
				b.Fatalf("rebuilt from a snapshot: %v, want %v", got, wantBase)
			}
		}
		b.ReportMetric(float64(replayPoints)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
	}
	b.Run("from=stream", func(b *testing.B) { rebuild(b, false) })
	owned := e.lease.partition(0)
	if err := owned.barrier(ctx); err != nil {
		b.Fatal(err)
	}
	if err := owned.snapshot(); err != nil {
		b.Fatal(err)
	}
	b.Run("from=snapshot", func(b *testing.B) { rebuild(b, true) })
}
