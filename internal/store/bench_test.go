package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The workload of issue #3's targets: 1,000 keys, one point per key per
// second, 1,000 seconds: 1 M points.
const (
	benchKeys   = 1000
	benchPoints = 1000 // per key
	benchStart  = 1700000000
)

// benchKeyNames returns n key names shaped like real metric paths.
func benchKeyNames(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "host%03d.cpu.user", i)
	}
	return keys
}

// valueShape makes the i-th value of one key's series; each key gets its
// own generator.
type valueShape struct {
	name string
	gen  func(r *rand.Rand) func(i int) float64
}

// valueShapes are the shapes of issue #3's memory targets.
var valueShapes = []valueShape{
	{"random2dec", func(r *rand.Rand) func(int) float64 {
		// Uniform in [0, 100) with two decimals.
		return func(int) float64 { return float64(r.IntN(10000)) / 100 }
	}},
	{"counter", func(r *rand.Rand) func(int) float64 {
		// A counter that grows by the same step every second.
		start, step := float64(r.IntN(1e6)), float64(1+r.IntN(100))
		return func(i int) float64 { return start + step*float64(i) }
	}},
	{"gauge", func(r *rand.Rand) func(int) float64 {
		// A slowly changing gauge: a temperature-like reading with one
		// decimal that moves by at most 0.1 a second.
		level := 200 + r.IntN(100)
		return func(int) float64 {
			level += r.IntN(3) - 1
			return float64(level) / 10
		}
	}},
	{"float64", func(r *rand.Rand) func(int) float64 {
		// Arbitrary float64 bit patterns, NaNs and infinities included.
		return func(int) float64 { return math.Float64frombits(r.Uint64()) }
	}},
}

// load puts keys × points points of shape into m in time order (each
// second, every key), as a scrape or a fleet of agents would.
func load(tb testing.TB, m *Memory, keys [][]byte, points int, shape valueShape) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := make([]func(int) float64, len(keys))
	for k := range keys {
		gens[k] = shape.gen(r)
	}
	for i := range points {
		for k, key := range keys {
			if err := m.Put(key, Point{Timestamp: benchStart + int64(i), Value: gens[k](i)}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemoryPerPoint reports the heap that the engine holds per point
// (map entries, series, chunk lists, keys and head buffers included) after
// loading 1,000 keys × 1,000 points, and, as /long, 100 keys × 10,000
// points, where the per-series costs weigh less.
func BenchmarkMemoryPerPoint(b *testing.B) {
	sizes := []struct {
		name         string
		keys, points int
	}{{"", benchKeys, benchPoints}, {"/long", 100, 10 * benchPoints}}
	for _, shape := range valueShapes {
		for _, size := range sizes {
			b.Run(shape.name+size.name, func(b *testing.B) {
				keys := benchKeyNames(size.keys)
				var perPoint float64
				for b.Loop() {
					before := heapInUse()
					m := NewMemory()
					load(b, m, keys, size.points, shape)
					perPoint = float64(heapInUse()-before) / float64(size.keys*size.points)
					runtime.KeepAlive(m)
				}
				b.ReportMetric(perPoint, "bytes/point")
			})
		}
	}
}

// BenchmarkPut measures one put on an existing series (1,000 of them):
// appending in order (sealing a chunk every 256 puts), jittered by up to
// 10 s (an insert into the head), overwriting the newest point, and
// overwriting a random older point (a sealed chunk re-encoded).
func BenchmarkPut(b *testing.B) {
	keys := benchKeyNames(benchKeys)
	value := func(i int) float64 { return float64(i%10000) / 100 }
	cases := []struct {
		name string
		ts   func(r *rand.Rand, i int) int64 // i counts puts; keys round-robin
	}{
		{"inorder", func(_ *rand.Rand, i int) int64 { return benchStart + benchPoints + int64(i/benchKeys) }},
		{"jitter", func(r *rand.Rand, i int) int64 { return benchStart + benchPoints + int64(i/benchKeys) - r.Int64N(10) }},
		{"overwrite", func(_ *rand.Rand, i int) int64 { return benchStart + benchPoints - 1 }},
		{"sealed", func(r *rand.Rand, i int) int64 { return benchStart + r.Int64N(benchPoints-chunkPoints) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := NewMemory()
			load(b, m, keys, benchPoints, valueShapes[0])
			r := rand.New(rand.NewPCG(3, 4))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := m.Put(keys[i%benchKeys], Point{Timestamp: c.ts(r, i), Value: value(i)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGetAll measures a visit of 1 M points over 1,000 keys through
// All, with a visitor that only reads the points: the engine's share of
// `get *` (decoding and batching), without formatting or the network.
func BenchmarkGetAll(b *testing.B) {
	for _, shape := range valueShapes {
		b.Run(shape.name, func(b *testing.B) {
			m := NewMemory()
			load(b, m, benchKeyNames(benchKeys), benchPoints, shape)
			var sum int64
			visitor := func(_ []byte, pts []Point) error {
				for _, p := range pts {
					sum += p.Timestamp
				}
				return nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := m.All(visitor); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchKeys*benchPoints), "ns/point")
			if sum == 0 {
				b.Fatal("visited nothing")
			}
		})
	}
}

// BenchmarkPutResend measures re-putting points a sealed chunk already
// holds with the same value, as an agent re-sending its buffer does: the
// chunk is decoded to compare, but not encoded again.
func BenchmarkPutResend(b *testing.B) {
	keys := benchKeyNames(benchKeys)
	m := NewMemory()
	load(b, m, keys, benchPoints, valueShapes[0])
	var stored []Point
	m.Get(keys[0], func(_ []byte, pts []Point) error { stored = append(stored, pts...); return nil })
	r := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Put(keys[0], stored[r.IntN(len(stored)-chunkPoints)]); err != nil {
			b.Fatal(err)
		}
	}
}
