package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"metricsd/internal/graphite"
	"metricsd/internal/store"
)

// BenchmarkAppendRequest is the generator's cost per put line.
func BenchmarkAppendRequest(b *testing.B) {
	for _, shape := range Shapes {
		b.Run(string(shape), func(b *testing.B) {
			g := NewGenerator(genConfig(1e9, 1000, OrderInOrder, shape))
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			var n int
			for i := 0; b.Loop(); i++ {
				buf = g.AppendRequest(buf[:0], uint64(i))
				n += len(buf)
			}
			b.SetBytes(int64(n / max(b.N, 1)))
		})
	}
}

// BenchmarkReaderPut is the reader's cost per put answer.
func BenchmarkReaderPut(b *testing.B) {
	answers := bytes.Repeat([]byte("ok\n\n"), 16<<10)
	src := bytes.NewReader(answers)
	rd := NewReader(src)
	b.ReportAllocs()
	b.SetBytes(4)
	for b.Loop() {
		if src.Len() == 0 && rd.r == rd.w {
			src.Reset(answers)
		}
		if a, err := rd.Next(Expect{}); err != nil || a.Verdict != VerdictOK {
			b.Fatal(a, err)
		}
	}
}

// BenchmarkServerPut drives an in-process metricsd server (internal/server
// over store.Memory) on 127.0.0.1 with b.N puts: client and server share the
// process, so a CPU profile of it shows both sides. One op is one request.
func BenchmarkServerPut(b *testing.B) {
	shapes := []struct{ conns, pipeline int }{{1, 1}, {50, 1}, {50, 16}, {4, 1024}}
	for _, s := range shapes {
		b.Run(fmt.Sprintf("c%dp%d", s.conns, s.pipeline), func(b *testing.B) {
			cfg := testConfig(startServer(b, store.NewMemory()))
			cfg.Connections, cfg.Pipeline, cfg.Keys = s.conns, s.pipeline, 1000
			cfg.Requests, cfg.Duration = int64(b.N), 0
			res := runBench(b, cfg)
			b.ReportMetric(res.OpsPerSecond, "puts/s")
			b.ReportMetric(res.Latency.P99, "p99-µs")
		})
	}
}

// BenchmarkServerGetAll times "get *" of 100,000 points over 1,000 keys;
// one op is one round trip.
func BenchmarkServerGetAll(b *testing.B) {
	const points = 100_000
	cfg := testConfig(startServer(b, store.NewMemory()))
	cfg.Connections, cfg.Pipeline, cfg.Keys, cfg.Requests = 4, 256, 1000, points
	runBench(b, cfg)
	cfg.Workload, cfg.Connections, cfg.Pipeline, cfg.Requests = WorkloadGetAll, 1, 1, int64(b.N)
	b.ResetTimer()
	res := runBench(b, cfg)
	if res.PointsRead != points*int64(b.N) {
		b.Fatalf("read %d points, want %d", res.PointsRead, points*b.N)
	}
	b.ReportMetric(float64(res.PointsRead)/res.ElapsedSeconds, "points/s")
}

// runBench runs cfg and fails b on any error.
func runBench(b *testing.B, cfg Config) Result {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*testTimeout)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil || res.Errors.Total != 0 {
		b.Fatalf("run: %v, errors %+v", err, res.Errors)
	}
	return res
}

// storeCounter counts the points of an in-process store.
type storeCounter struct{ m *store.Memory }

func (c storeCounter) Count(context.Context) (int64, error) {
	_, points := c.m.Stats()
	return int64(points), nil
}

// BenchmarkGraphiteIngest streams b.N Graphite lines over 4 connections
// into an in-process internal/graphite Receiver and waits until the store
// holds them all; one op is one point. "owned": each connection sends its
// own keys in order; "spread": every key on every connection, so a key's
// points arrive slightly out of order.
func BenchmarkGraphiteIngest(b *testing.B) {
	for _, spread := range []bool{false, true} {
		name := map[bool]string{false: "owned", true: "spread"}[spread]
		b.Run(name, func(b *testing.B) {
			st := store.NewMemory()
			rcv, err := graphite.NewReceiver(graphite.ReceiverConfig{Storage: st, MaxLineLength: 64 << 10})
			if err != nil {
				b.Fatal(err)
			}
			ln := listen(b)
			go rcv.Serve(ln)
			b.Cleanup(func() { rcv.Shutdown(context.Background()) })
			cfg := testConfig(ln.Addr().String())
			cfg.Workload, cfg.Connections, cfg.Keys, cfg.Spread = WorkloadGraphite, 4, 1000, spread
			cfg.Requests, cfg.Duration, cfg.Verify = int64(b.N), 0, storeCounter{st}
			cfg.Timeout = time.Minute // spread can be slow enough to fill the socket buffers
			res := runBench(b, cfg)
			b.ReportMetric(res.OpsPerSecond, "points/s")
		})
	}
}
