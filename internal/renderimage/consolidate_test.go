package renderimage

import (
	"math"
	"testing"
)

func TestConsolidate(t *testing.T) {
	nan := math.NaN()
	f := func(s Series, from, until int64, columns int, want []xy) {
		t.Helper()
		got := consolidate(&s, from, until, columns)
		if len(got) != len(want) {
			t.Fatalf("consolidate(%v) = %v, want %v", s.Values, got, want)
		}
		for i := range got {
			same := got[i].x == want[i].x && (got[i].y == want[i].y || math.IsNaN(got[i].y) && math.IsNaN(want[i].y))
			if !same {
				t.Errorf("consolidate(%v)[%d] = %v, want %v", s.Values, i, got[i], want[i])
			}
		}
	}
	// Short series keep their points (within the range).
	f(Series{Start: 0, Step: 10, Values: []float64{1, nan, 3}}, 0, 100, 10, []xy{{0, 1}, {10, nan}, {20, 3}})
	f(Series{Times: []int64{-5, 5, 500}, Values: []float64{1, 2, 3}}, 0, 100, 10, []xy{{5, 2}})
	// Longer: averaged into columns, gaps where only NaN fell, nothing
	// where no value fell.
	f(Series{Start: 0, Step: 10, Values: []float64{1, 3, nan, nan, 5, 7, 9, 11}}, 0, 80, 4,
		[]xy{{10, 2}, {30, nan}, {50, 6}, {70, 10}})
	f(Series{Times: []int64{0, 1, 2, 70, 71}, Values: []float64{1, 2, 3, 4, 6}}, 0, 80, 4,
		[]xy{{10, 2}, {70, 5}})
}

// TestConsolidateCapsPoints checks the promise: at most one point per
// column, whatever the length.
func TestConsolidateCapsPoints(t *testing.T) {
	s := Series{Start: 0, Step: 1}
	for i := range 100_000 {
		s.Values = append(s.Values, float64(i))
	}
	for _, columns := range []int{1, 330, 1000, 4096} {
		got := consolidate(&s, 0, 100_000, columns)
		if len(got) > columns || len(got) < columns-1 {
			t.Errorf("%d columns: %d points", columns, len(got))
		}
		sum := 0.0
		for _, p := range got {
			sum += p.y
		}
		if mean := sum / float64(len(got)); math.Abs(mean-49999.5) > 100_000/float64(columns) {
			t.Errorf("%d columns: mean %v, want about 49999.5", columns, mean)
		}
	}
}

func TestStackGridUsesCoarsestStep(t *testing.T) {
	fine := Series{Start: 0, Step: 10, Values: []float64{1, 1, 1, 1, 1, 1}}
	coarse := Series{Times: []int64{0, 30}, Values: []float64{2, nan()}}
	xs, ys := stackGrid([]Series{fine, coarse}, 0, 60, 60)
	if len(xs) != 2 || xs[0] != 15 || xs[1] != 45 {
		t.Fatalf("grid %v, want centres 15, 45 (30 s buckets)", xs)
	}
	if ys[0][0] != 1 || ys[1][0] != 2 || !math.IsNaN(ys[1][1]) {
		t.Errorf("values %v", ys)
	}
}

func nan() float64 { return math.NaN() }
