package graphiteweb

import (
	"context"
	"fmt"
	"regexp"
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
			e := &Engine{Storage: st}
			var n countWriter
			b.ReportAllocs()
			for b.Loop() {
				if err := e.Render(context.Background(), &n, req); err != nil {
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

// serversStore holds servers.hostNNNN.cpu.user for keys hosts, points
// points each at 10 s, ending at 1500000000.
func serversStore(b *testing.B, keys, points int) *store.Memory {
	b.Helper()
	st := store.NewMemory()
	start := int64(1500000000 - (points-1)*10)
	for k := range keys {
		key := fmt.Appendf(nil, "servers.host%04d.cpu.user", k)
		for i := range points {
			if err := st.Put(key, store.Point{Timestamp: start + int64(i)*10, Value: float64((i+k)%100) + 0.5}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return st
}

// benchRender renders target over the store's whole range and reports
// input points (series × slots) per second.
func benchRender(b *testing.B, st *store.Memory, keys, points int, target string, maxDataPoints int) {
	e := &Engine{Storage: st, Schemas: &Schemas{rules: []schemaRule{{name: "all", pattern: regexpAll, step: 10}}}}
	req := RenderRequest{Targets: mustTargets(b, target), From: 1500000000 - int64(points)*10, Until: 1500000000, MaxDataPoints: maxDataPoints}
	var n countWriter
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Render(context.Background(), &n, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(keys*points)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkRenderSumSeries is issue #12's first figure: sumSeries over
// 1,000 series of one day at 10 s (8.64 M input points), and the same
// series consolidated plainly to Grafana's 1,000 points.
func BenchmarkRenderSumSeries(b *testing.B) {
	const keys, points = 1000, 8640
	st := serversStore(b, keys, points)
	// The baseline: reading every point from the store, nothing else.
	b.Run("store-visit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for k := range keys {
				if err := st.Get(fmt.Appendf(nil, "servers.host%04d.cpu.user", k), func(_ []byte, pts []store.Point) error {
					n += len(pts)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			if n != keys*points {
				b.Fatalf("visited %d points", n)
			}
		}
		b.ReportMetric(float64(b.N)*float64(keys*points)/b.Elapsed().Seconds(), "points/s")
	})
	b.Run("sumSeries", func(b *testing.B) { benchRender(b, st, keys, points, "sumSeries(servers.*.cpu.user)", 0) })
	b.Run("plain-maxDataPoints=1000", func(b *testing.B) { benchRender(b, st, keys, points, "servers.*.cpu.user", 1000) })
}

// BenchmarkRenderMovingAverage is issue #12's second figure:
// aliasByNode(movingAverage(...)) over 100 series of 7 days at 10 s.
func BenchmarkRenderMovingAverage(b *testing.B) {
	const keys, points = 100, 7 * 8640
	st := serversStore(b, keys, points)
	benchRender(b, st, keys, points, "aliasByNode(movingAverage(servers.*.cpu.user, 6), 1)", 1000)
}

// BenchmarkFindMillion is a wildcard find over 1 M series, 1,000 hosts
// of 1,000 metrics (issue #12: under 50 ms): the hosts level, which every
// key matches, and one host's metrics.
func BenchmarkFindMillion(b *testing.B) {
	st := store.NewMemory()
	for h := range 1000 {
		for m := range 1000 {
			if err := st.Put(fmt.Appendf(nil, "servers.host%04d.metric%04d", h, m), store.Point{Timestamp: 1, Value: 1}); err != nil {
				b.Fatal(err)
			}
		}
	}
	e := &Engine{Storage: st}
	// The baseline: visiting every key, nothing else.
	b.Run("keys-visit", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := st.Keys(func([]byte) error { n++; return nil }); err != nil || n != 1_000_000 {
				b.Fatalf("visited %d keys, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/find")
	})
	for _, q := range []string{"servers.*", "servers.host0042.*"} {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				nodes, err := e.Find(context.Background(), q)
				if err != nil || len(nodes) != 1000 {
					b.Fatalf("Find = %d nodes, %v", len(nodes), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/find")
		})
	}
}

var regexpAll = regexp.MustCompile(".*")
