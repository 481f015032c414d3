package durable

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"metricsd/internal/wal"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"metricsd/internal/snapshot"
	"metricsd/internal/store"
)

// benchClients is the number of concurrent clients of the target.
const benchClients = 50

// benchKeys is the realistic workload's key count: 1,000 keys, one point
// per key per second.
const benchKeys = 1000

// BenchmarkPut measures put throughput with 50 concurrent clients for each
// fsync mode against the in-memory engine. pipeline=1 is a client that
// waits for each answer; pipeline=64 is one that sends 64 puts before
// reading their answers (Submit, then Wait), as a session does with a
// pipelined batch.
func BenchmarkPut(b *testing.B) {
	engines := []struct {
		name string
		mode wal.SyncPolicy
		mem  bool
	}{
		{"memory", 0, true},
		{"never", wal.SyncNever, false},
		{"interval", wal.SyncInterval, false},
		{"always", wal.SyncAlways, false},
	}
	for _, eng := range engines {
		for _, window := range []int{1, 64} {
			if eng.mem && window > 1 {
				continue // no difference in memory
			}
			b.Run(fmt.Sprintf("%s/clients=%d/pipeline=%d", eng.name, benchClients, window), func(b *testing.B) {
				var st store.Engine = store.NewMemory()
				if !eng.mem {
					st = start(b, Config{Dir: b.TempDir(), Fsync: eng.mode, SnapshotInterval: -1, SnapshotWALBytes: -1})
				}
				keys := make([][]byte, benchKeys)
				for i := range keys {
					keys[i] = fmt.Appendf(nil, "host%03d.cpu", i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				for c := range benchClients {
					n := b.N / benchClients
					if c < b.N%benchClients {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := benchClient(st, keys, c, n, window); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			})
		}
	}
}

// benchClient makes n puts as client c, window at a time.
func benchClient(st store.Engine, keys [][]byte, c, n, window int) error {
	tickets := make([]store.Ticket, 0, window)
	for i := range n {
		key := keys[(c*7919+i)%len(keys)]
		p := store.Point{Timestamp: int64(1_700_000_000 + i), Value: float64(i)}
		if window == 1 {
			if err := st.Put(key, p); err != nil {
				return err
			}
			continue
		}
		t, err := st.Submit(key, p)
		if err != nil {
			return err
		}
		if tickets = append(tickets, t); len(tickets) == window || i == n-1 {
			for _, t := range tickets {
				if err := t.Wait(); err != nil {
					return err
				}
			}
			tickets = tickets[:0]
		}
	}
	return nil
}

// recoveryFixture is a data directory holding the realistic workload:
// benchKeys keys, one point per key per second for seconds seconds.
type recoveryFixture struct {
	dir    string
	points int
	bytes  int64 // on disk
}

// buildFixture writes the workload through an engine and leaves either the
// log alone (a crash before any snapshot) or a snapshot alone (a clean
// shutdown).
func buildFixture(b *testing.B, seconds int, snap bool) recoveryFixture {
	b.Helper()
	dir := b.TempDir()
	e := start(b, Config{Dir: dir, Fsync: wal.SyncNever, SnapshotInterval: -1, SnapshotWALBytes: -1})
	rng := rand.New(rand.NewPCG(1, 2))
	level := make([]float64, benchKeys)
	for s := range seconds {
		for k := range benchKeys {
			// A gauge wandering at random, read at one decimal, as agents
			// send CPU or temperature readings.
			level[k] = min(max(level[k]+rng.NormFloat64(), 0), 100)
			v := math.Round(level[k]*10) / 10
			if _, err := e.Submit(fmt.Appendf(nil, "host%03d.cpu", k), store.Point{Timestamp: int64(1_700_000_000 + s), Value: v}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if snap {
		closeEngine(b, e)
	} else {
		if _, err := e.requestCut(); err != nil { // everything written
			b.Fatal(err)
		}
		dir = copyDir(b, dir) // what a crash leaves: the log, no snapshot
		closeEngine(b, e)
		segs, _ := snapshot.List(dir)
		if len(segs) != 0 {
			b.Fatal("the log fixture has a snapshot")
		}
	}
	return recoveryFixture{dir: dir, points: seconds * benchKeys, bytes: dirBytes(b, dir)}
}

// dirBytes is the size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return err
	})
	return n
}

// BenchmarkRecovery measures startup: points per second loaded from a
// snapshot and replayed from the log, and bytes per point on disk and in
// memory, for the realistic workload (1,000 keys, one point per key per
// second, 10 minutes).
func BenchmarkRecovery(b *testing.B) {
	const seconds = 600
	for _, src := range []struct {
		name string
		snap bool
	}{{"wal", false}, {"snapshot", true}} {
		b.Run(src.name, func(b *testing.B) {
			fx := buildFixture(b, seconds, src.snap)
			var heap uint64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dir := copyDir(b, fx.dir)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				e, err := New(Config{Dir: dir, SnapshotInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				if n := e.replayed.Load(); n != int64(fx.points) {
					b.Fatalf("recovered %d points, want %d", n, fx.points)
				}
				e.walBytes.Store(0) // no final snapshot: not part of startup
				closeEngine(b, e)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(fx.points)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(fx.bytes)/float64(fx.points), "disk-bytes/point")
			b.ReportMetric(float64(heap)/float64(fx.points), "heap-bytes/point")
		})
	}
}

// BenchmarkBytesPerSeries measures the heap a series costs, in memory and
// in the durable engine: 100,000 keys of 20 bytes, one point each (issue
// #10: the durable engine must add at most 10 % over memory; it used to
// keep a key map and a copy of every key of its own).
func BenchmarkBytesPerSeries(b *testing.B) {
	const series = 100_000
	keys := make([][]byte, series)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "host%06d.cpu.usage", i) // 20 bytes
	}
	for _, durableEngine := range []bool{false, true} {
		name := map[bool]string{false: "memory", true: "durable"}[durableEngine]
		b.Run(name, func(b *testing.B) {
			var perSeries float64
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				var st store.Storage = store.NewMemory()
				var e *Engine
				if durableEngine {
					e = start(b, Config{Dir: b.TempDir(), Fsync: wal.SyncNever, SnapshotInterval: -1, SnapshotWALBytes: -1})
					st = e
				}
				for i, k := range keys {
					if err := st.Put(k, store.Point{Timestamp: 1_700_000_000, Value: float64(i % 100)}); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSeries = float64(after.HeapAlloc-before.HeapAlloc) / series
				runtime.KeepAlive(st)
				if e != nil {
					e.walBytes.Store(0) // no final snapshot: not part of the measure
					closeEngine(b, e)
				}
			}
			b.ReportMetric(perSeries, "heap-bytes/series")
		})
	}
}
