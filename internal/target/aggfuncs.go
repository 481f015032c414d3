package target

import (
	"math"
	"slices"
)

// An aggregation reduces a row of values (nulls included, as NaN) to one
// value, or null: graphite-web's aggFuncs (graphite/functions/aggfuncs.py)
// over its safe* helpers, which skip None.
type aggregation func(row []float64) float64

// aggFuncs are graphite-web's aggregation functions and their aliases.
var aggFuncs = map[string]aggregation{
	"average":  safeAvg,
	"avg":      safeAvg,
	"avg_zero": safeAvgZero,
	"median":   safeMedian,
	"sum":      safeSum,
	"total":    safeSum,
	"min":      safeMin,
	"max":      safeMax,
	"diff":     safeDiff,
	"stddev":   safeStdDev,
	"count":    safeCount,
	"range":    safeRange,
	"rangeOf":  safeRange,
	"multiply": safeMultiply,
	"last":     safeLast,
	"current":  safeLast,
}

// AggregationNames returns the names of the aggregation functions
// (aliases included), sorted: what an aggFunc parameter accepts.
func AggregationNames() []string {
	names := make([]string, 0, len(aggFuncs))
	for n := range aggFuncs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func aggFunc(name string) (aggregation, bool) {
	f, ok := aggFuncs[name]
	return f, ok
}

// nonNull returns the values of row that are not null, in dst.
func nonNull(dst, row []float64) []float64 {
	for _, v := range row {
		if !IsNull(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

func safeSum(row []float64) float64 {
	s, n := 0.0, 0
	for _, v := range row {
		if !IsNull(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return null
	}
	return s
}

func safeCount(row []float64) float64 {
	n := 0
	for _, v := range row {
		if !IsNull(v) {
			n++
		}
	}
	return float64(n)
}

func safeAvg(row []float64) float64 {
	s, n := 0.0, 0
	for _, v := range row {
		if !IsNull(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return null
	}
	return s / float64(n)
}

func safeAvgZero(row []float64) float64 {
	if len(row) == 0 {
		return null
	}
	s := 0.0
	for _, v := range row {
		if !IsNull(v) {
			s += v
		}
	}
	return s / float64(len(row))
}

func safeMedian(row []float64) float64 {
	vals := nonNull(nil, row)
	if len(vals) == 0 {
		return null
	}
	slices.Sort(vals)
	mid := len(vals) / 2
	if len(vals)%2 == 0 {
		return (vals[mid-1] + vals[mid]) / 2
	}
	return vals[mid]
}

func safeMin(row []float64) float64 {
	m, ok := null, false
	for _, v := range row {
		if !IsNull(v) && (!ok || v < m) {
			m, ok = v, true
		}
	}
	return m
}

func safeMax(row []float64) float64 {
	m, ok := null, false
	for _, v := range row {
		if !IsNull(v) && (!ok || v > m) {
			m, ok = v, true
		}
	}
	return m
}

func safeDiff(row []float64) float64 {
	s, n := 0.0, 0
	for _, v := range row {
		if IsNull(v) {
			continue
		}
		if n == 0 {
			s = v
		} else {
			s += -v
		}
		n++
	}
	if n == 0 {
		return null
	}
	return s
}

func safeStdDev(row []float64) float64 {
	avg := safeAvg(row)
	if IsNull(avg) {
		return null
	}
	s, n := 0.0, 0
	for _, v := range row {
		if !IsNull(v) {
			s += (v - avg) * (v - avg)
			n++
		}
	}
	return math.Sqrt(s / float64(n))
}

func safeRange(row []float64) float64 {
	hi, lo := safeMax(row), safeMin(row)
	if IsNull(hi) || IsNull(lo) {
		return null
	}
	return hi - lo
}

func safeMultiply(row []float64) float64 {
	if len(row) == 0 {
		return null
	}
	p := 1.0
	for i, v := range row {
		if IsNull(v) {
			return null
		}
		if i == 0 {
			p = v
		} else {
			p *= v
		}
	}
	return p
}

func safeLast(row []float64) float64 {
	for i := len(row) - 1; i >= 0; i-- {
		if !IsNull(row[i]) {
			return row[i]
		}
	}
	return null
}

func safeDiv(a, b float64) float64 {
	if IsNull(a) || IsNull(b) || b == 0 {
		return null
	}
	return a / b
}

func safeMul(a, b float64) float64 {
	if IsNull(a) || IsNull(b) {
		return null
	}
	return a * b
}
