package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// BenchmarkPut measures acknowledged puts through one node of a 3-node
// NATS cluster, from 64 × GOMAXPROCS concurrent callers (as many
// clients), against
// BenchmarkPublishAlone, the same callers publishing one point per
// message straight to an R3 stream: the ratio is what batching and the
// cluster engine add or save. Run both in one process (shared machines
// vary). depth is how many puts a caller keeps submitted before waiting
// for them, as a pipelining session does (1: Put, one at a time).
func BenchmarkPut(b *testing.B) {
	c := natstest.Start(b, 3)
	e := openNode(b, c.URLs(), "bench", 64)
	waitBalanced(b, []*Engine{e})
	for _, delay := range []time.Duration{DefaultBatchDelay, time.Nanosecond} {
		for _, depth := range []int{1, 16} {
			e.cfg.BatchDelay = delay
			b.Run(fmt.Sprintf("delay=%v/depth=%d", delay, depth), func(b *testing.B) { benchPut(b, e, depth) })
		}
	}
}

func benchPut(b *testing.B, e *Engine, depth int) {
	var next atomic.Int64
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tickets := make([]store.Ticket, 0, depth)
		settle := func() bool {
			for _, t := range tickets {
				if err := t.Wait(); err != nil {
					b.Error(err)
					return false
				}
			}
			tickets = tickets[:0]
			return true
		}
		var key []byte
		for pb.Next() {
			i := next.Add(1)
			key = fmt.Appendf(key[:0], "bench.%d", i%1000)
			t, err := e.Submit(key, store.Point{Timestamp: i, Value: float64(i)})
			if err != nil {
				b.Error(err)
				return
			}
			if tickets = append(tickets, t); len(tickets) == depth && !settle() {
				return
			}
		}
		settle()
	})
}

// BenchmarkPublishAlone: JetStream's own ceiling for one acknowledged
// point per message on this machine (see BenchmarkPut), from 64 ×
// GOMAXPROCS callers each keeping depth publishes awaiting their acks
// (1: a synchronous publish; 16: asynchronous publishes, the pipelined
// callers' ceiling).
func BenchmarkPublishAlone(b *testing.B) {
	c := natstest.Start(b, 3)
	js := c.JetStream(b, jetstream.WithPublishAsyncMaxPending(64*runtime.GOMAXPROCS(0)*16))
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Replicas: 3, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	payload := appendRecord(nil, []byte("bench.1"), 1, store.Point{Timestamp: 1, Value: 1})
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(64)
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				acks := make([]jetstream.PubAckFuture, 0, depth)
				settle := func() bool {
					for _, a := range acks {
						select {
						case <-a.Ok():
						case err := <-a.Err():
							b.Error(err)
							return false
						}
					}
					acks = acks[:0]
					return true
				}
				for pb.Next() {
					i := next.Add(1)
					subject := fmt.Sprintf("b.%d", i%64)
					if depth == 1 {
						if _, err := js.Publish(ctx, subject, payload); err != nil {
							b.Error(err)
							return
						}
						continue
					}
					a, err := js.PublishAsync(subject, payload)
					if err != nil {
						b.Error(err)
						return
					}
					if acks = append(acks, a); len(acks) == depth && !settle() {
						return
					}
				}
				settle()
			})
		})
	}
}

// BenchmarkSubmitPath measures this node's own share of a put, without
// NATS: the cached key-order lookup, the partition's batch encoding and
// the ticket, with batches handed to a publish that returns at once. It
// shows the path allocates nothing per put beyond its batch (a few per
// batch, amortised to 0 allocs/op).
func BenchmarkSubmitPath(b *testing.B) {
	e := &Engine{cfg: Config{BatchDelay: DefaultBatchDelay, OpTimeout: time.Minute}, log: slog.New(slog.DiscardHandler), boot: "bench",
		revs: make(map[string]uint64), creating: make(map[string]*keyRev), layout: layout{Partitions: 64, Streams: 6}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	defer func() { e.cancel(); e.wg.Wait() }()
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "bench.%d", i)
		e.revs[string(keys[i])] = uint64(i + 1)
	}
	for p := range e.layout.Partitions {
		w := newWriter(e, p)
		w.publishMsg = func(context.Context, *nats.Msg) error { return nil }
		e.writers = append(e.writers, w)
		e.wg.Add(1)
		go func() { defer e.wg.Done(); w.run() }()
	}
	e.started.Store(true)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := e.Submit(keys[i%1000], store.Point{Timestamp: i, Value: float64(i)}); err != nil {
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
