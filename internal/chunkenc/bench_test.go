package chunkenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// benchPoints is the chunk length the store seals at.
const benchPoints = 256

// shapes are the value shapes of issue #3's memory targets, one point a
// second.
func shapes() []struct {
	name string
	pts  []Point
} {
	r := rand.New(rand.NewPCG(11, 12))
	mk := func(value func(i int) float64) []Point { return series(benchPoints, 1700000000, 1, value) }
	level := 20.0
	return []struct {
		name string
		pts  []Point
	}{
		{"random2dec", mk(func(int) float64 { return float64(r.IntN(10000)) / 100 })},
		{"counter", mk(func(i int) float64 { return float64(1000 + 5*i) })},
		{"gauge", mk(func(int) float64 {
			level += float64(r.IntN(3)-1) / 10
			return math.Round(level*10) / 10
		})},
		{"float64", mk(func(int) float64 { return math.Float64frombits(r.Uint64()) })},
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, s := range shapes() {
		b.Run(s.name, func(b *testing.B) {
			var e Encoder
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = e.Append(buf[:0], s.pts)
			}
			b.ReportMetric(float64(len(buf))/benchPoints, "bytes/point")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPoints), "ns/point")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range shapes() {
		block, err := Append(nil, s.pts)
		if err != nil {
			b.Fatal(err)
		}
		var a Appender
		for _, p := range s.pts {
			if err := a.Append(p.Timestamp, p.Value); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range []struct {
			name  string
			chunk []byte
		}{{"block", block}, {"stream", a.Bytes()}} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				dst := make([]Point, 0, benchPoints)
				b.ReportAllocs()
				for b.Loop() {
					if dst, err = Decode(dst[:0], c.chunk); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPoints), "ns/point")
			})
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, s := range shapes() {
		b.Run(s.name, func(b *testing.B) {
			var a Appender
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(s.pts) {
					a.Reset()
					i = 0
				}
				if err := a.Append(s.pts[i].Timestamp, s.pts[i].Value); err != nil {
					b.Fatal(err)
				}
				i++
			}
			var full Appender
			for _, p := range s.pts {
				if err := full.Append(p.Timestamp, p.Value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(full.Bytes()))/benchPoints, "bytes/point")
		})
	}
}
