package renderimage

import "math"

// xy is one point to draw; a NaN Y is a gap.
type xy struct{ x, y float64 }

// valueAt returns series s's i-th time.
func (s *Series) timeAt(i int) int64 {
	if s.Times != nil {
		return s.Times[i]
	}
	return s.Start + int64(i)*s.Step
}

// step returns s's spacing: Step, or for a series with Times the median
// gap between its times (0 for fewer than two).
func (s *Series) step() float64 {
	if s.Times == nil {
		return float64(s.Step)
	}
	if len(s.Times) < 2 {
		return 0
	}
	gaps := make([]int64, 0, len(s.Times)-1)
	for i := 1; i < len(s.Times); i++ {
		gaps = append(gaps, s.Times[i]-s.Times[i-1])
	}
	// A partial selection would do; series here are at most a few
	// thousand points once the render API has consolidated them.
	return float64(median(gaps))
}

func median(v []int64) int64 {
	for i := 1; i < len(v); i++ { // insertion sort: v is short and nearly sorted
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	return v[len(v)/2]
}

// bucket is one pixel column's consolidation state.
type bucket struct {
	sum   float64
	count int
	gap   bool // a NaN fell in the column
}

// consolidate returns s's points within [from, until], at most columns of
// them. A series with no more points than columns keeps its points as they
// are; a longer one is averaged into columns equal time buckets, each drawn
// at its centre. A bucket that holds only NaNs is a gap; a bucket with no
// value at all is skipped, so that a sparse series stays one line.
func consolidate(s *Series, from, until int64, columns int) []xy {
	n := len(s.Values)
	if n <= columns {
		out := make([]xy, 0, n)
		for i, v := range s.Values {
			if t := s.timeAt(i); t >= from && t <= until {
				out = append(out, xy{float64(t), v})
			}
		}
		return out
	}
	width := float64(until-from) / float64(columns)
	buckets := fill(s, from, until, columns, width)
	out := make([]xy, 0, columns)
	for i, b := range buckets {
		x := float64(from) + (float64(i)+0.5)*width
		switch {
		case b.count > 0:
			out = append(out, xy{x, b.sum / float64(b.count)})
		case b.gap:
			out = append(out, xy{x, math.NaN()})
		}
	}
	return out
}

// fill averages s's values in [from, until] into columns buckets of the
// given width.
func fill(s *Series, from, until int64, columns int, width float64) []bucket {
	buckets := make([]bucket, columns)
	for i, v := range s.Values {
		t := s.timeAt(i)
		if t < from || t > until {
			continue
		}
		k := min(int(float64(t-from)/width), columns-1)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			buckets[k].gap = true
			continue
		}
		buckets[k].sum += v
		buckets[k].count++
	}
	return buckets
}

// stackGrid puts every series on one grid of equal buckets, as stacking
// needs: the bucket is a pixel column, or the coarsest series' step when
// that is wider (so that a series every minute is not a dotted line on
// ten-second columns). It returns the bucket centres and, per series, one
// value per bucket, NaN where the series has none.
func stackGrid(series []Series, from, until int64, columns int) ([]float64, [][]float64) {
	width := float64(until-from) / float64(columns)
	for i := range series {
		width = max(width, series[i].step())
	}
	n := max(1, int(math.Ceil(float64(until-from)/width)))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(from) + (float64(i)+0.5)*width
	}
	ys := make([][]float64, len(series))
	for k := range series {
		buckets := fill(&series[k], from, until, n, width)
		ys[k] = make([]float64, n)
		for i, b := range buckets {
			ys[k][i] = math.NaN()
			if b.count > 0 {
				ys[k][i] = b.sum / float64(b.count)
			}
		}
	}
	return xs, ys
}
