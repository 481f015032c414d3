package chunkenc

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// model is the reference for Appender.Put: a map from timestamp to value.
type model map[int64]float64

func (m model) points() []Point {
	pts := make([]Point, 0, len(m))
	for _, ts := range slices.Sorted(maps.Keys(m)) {
		pts = append(pts, Point{ts, m[ts]})
	}
	return pts
}

// TestAppenderPutMatchesModel drives Put with in-order, repeated and
// out-of-order timestamps and checks every step against a map.
func TestAppenderPutMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 60 {
		var a Appender
		want := model{}
		var scratch []Point
		last := int64(1700000000)
		for step := range 300 {
			var ts int64
			switch r.IntN(6) {
			case 0: // out of order, within what is there
				ts = last - r.Int64N(40)
			case 1: // overwrite the last point
				ts = last
			default:
				ts = last + 1 + r.Int64N(3)
			}
			last = max(last, ts)
			v := randomValue(r)
			_, had := want[ts]
			added, s, err := a.Put(ts, v, scratch)
			scratch = s
			if err != nil {
				t.Fatalf("round %d step %d: Put: %v", round, step, err)
			}
			want[ts] = v
			if added == had {
				t.Fatalf("round %d step %d: Put(%d) added = %v, but the point existed = %v", round, step, ts, added, had)
			}
			if a.Len() != len(want) {
				t.Fatalf("round %d step %d: Len = %d, want %d", round, step, a.Len(), len(want))
			}
		}
		got, err := Decode(nil, a.Bytes())
		if err != nil {
			t.Fatalf("round %d: Decode: %v", round, err)
		}
		if w := want.points(); !sameBits(got, w) {
			t.Fatalf("round %d: %s", round, firstDiff(got, w))
		}
		if a.LastTimestamp() != last {
			t.Fatalf("round %d: LastTimestamp = %d, want %d", round, a.LastTimestamp(), last)
		}
	}
}

func TestAppenderReplaceLastKeepsEarlierPoints(t *testing.T) {
	tests := []struct {
		name   string
		pts    []Point
		newVal float64
	}{
		{"single point", []Point{{1, 1}}, 2},
		{"decimal to raw", []Point{{1, 1.5}, {2, 2.5}}, math.NaN()},
		{"raw to decimal", []Point{{1, 1.5}, {2, math.Inf(1)}}, 3.25},
		{"exponent change undone", []Point{{1, 1}, {2, 0.001}}, 4},
		{"exponent change added", []Point{{1, 1}, {2, 2}}, 0.001},
		{"huge timestamp delta", []Point{{math.MinInt64, 1}, {math.MaxInt64, 2}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Appender
			for _, p := range tt.pts {
				if err := a.Append(p.Timestamp, p.Value); err != nil {
					t.Fatal(err)
				}
			}
			a.ReplaceLast(tt.newVal)
			want := slices.Clone(tt.pts)
			want[len(want)-1].Value = tt.newVal
			// Appending after the replacement must continue from the right state.
			next := Point{want[len(want)-1].Timestamp + 1, 0.75}
			if next.Timestamp < want[len(want)-1].Timestamp {
				next.Timestamp = want[len(want)-1].Timestamp // wrapped: skip the extra point
			} else {
				if err := a.Append(next.Timestamp, next.Value); err != nil {
					t.Fatal(err)
				}
				want = append(want, next)
			}
			got, err := Decode(nil, a.Bytes())
			if err != nil || !sameBits(got, want) {
				t.Fatalf("Decode = %v, %v: %s", got, err, firstDiff(got, want))
			}
		})
	}
}

func TestAppenderResetReusesBuffer(t *testing.T) {
	var a Appender
	fill := func() {
		for i := range 256 {
			if err := a.Append(int64(1700000000+i), float64(i%1000)/100); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill()
	allocs := testing.AllocsPerRun(20, func() {
		a.Reset()
		fill()
	})
	if allocs != 0 {
		t.Fatalf("refilling a reset Appender allocates %v times, want 0", allocs)
	}
	a.Release()
	if a.Len() != 0 || a.Bytes() != nil {
		t.Fatalf("after Release: Len %d, Bytes %v", a.Len(), a.Bytes())
	}
}

func TestAppenderStreamSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	tests := []struct {
		name        string
		value       func(i int) float64
		maxPerPoint float64 // bytes
	}{
		{"counter", func(i int) float64 { return float64(3 * i) }, 0.3}, // 2 bits: two zero dods
		{"slow gauge", func(i int) float64 { return 20 + float64(i/7)/10 }, 0.5},
		{"random two decimals", func(int) float64 { return float64(r.IntN(10000)) / 100 }, 2.7},
		{"random bits", func(int) float64 { return math.Float64frombits(r.Uint64()) }, 9.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := series(1000, 1700000000, 1, tt.value)
			c := encodeStream(t, pts)
			if per := float64(len(c)) / float64(len(pts)); per > tt.maxPerPoint {
				t.Errorf("%.2f bytes a point, want at most %.2f", per, tt.maxPerPoint)
			}
		})
	}
}
