package graphiteweb

import (
	"context"
	"fmt"
	"testing"

	"metricsd/internal/store"
)

func BenchmarkPatternMatch(b *testing.B) {
	key := []byte("collectd.web042.cpu-3.cpu-idle")
	for _, pattern := range []string{
		"collectd.web042.cpu-3.cpu-idle",
		"collectd.*.cpu-*.cpu-idle",
		"collectd.web0[0-9][0-9].{cpu-0,cpu-1,cpu-2,cpu-3}.cpu-idle",
		"collectd.web???.cpu-?.*idle",
	} {
		p, err := CompilePattern(pattern)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(pattern, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !p.Match(key) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// benchStore holds keys series of points points each, one per 10 s.
func benchStore(b *testing.B, keys, points int) *store.Memory {
	b.Helper()
	st := store.NewMemory()
	for k := range keys {
		key := fmt.Appendf(nil, "host%04d.cpu.usage_idle", k)
		for i := range points {
			st.Put(key, store.Point{Timestamp: 1500000000 + int64(i)*10, Value: float64(i%100) + 0.25})
		}
	}
	return st
}

// BenchmarkFind is Grafana's tree browser over 10,000 series of 100
// points: the scan of every key, through Storage.All, dominates.
func BenchmarkFind(b *testing.B) {
	st := benchStore(b, 10_000, 100)
	p, err := CompilePattern("host00*.cpu")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		nodes, err := Find(context.Background(), st, p)
		if err != nil || len(nodes) != 100 {
			b.Fatalf("Find = %d nodes, %v", len(nodes), err)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkRenderJSON renders 10 series of 100,000 points each.
func BenchmarkRenderJSON(b *testing.B) {
	const keys, points = 10, 100_000
	st := benchStore(b, keys, points)
	for _, max := range []int{0, 1000} {
		b.Run(fmt.Sprintf("maxDataPoints=%d", max), func(b *testing.B) {
			// The range of the data: (first point - 1 s, last point].
			req := RenderRequest{Targets: mustTargets(b, "host*.cpu.usage_idle"),
				From: 1500000000 - 1, Until: 1500000000 + (points-1)*10, MaxDataPoints: max}
			var n countWriter
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(context.Background(), &n, st, req); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n.n / int64(b.N))
			b.ReportMetric(float64(b.N*keys*points)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// countWriter discards what it is given, counting it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
