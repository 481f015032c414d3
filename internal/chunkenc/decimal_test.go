package chunkenc

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestDecimalOf(t *testing.T) {
	tests := []struct {
		v   float64
		m   int64
		exp int
		ok  bool
	}{
		{0, 0, 0, true},
		{math.Copysign(0, -1), 0, 0, false},
		{12.34, 1234, -2, true},
		{-12.34, -1234, -2, true},
		{12.3, 123, -1, true},
		{100, 1, 2, true},
		{4200000, 42, 5, true},
		{0.29, 29, -2, true}, // 0.29*100 is 28.999999999999996 in floating point
		{1e-22, 1, -22, true},
		{1e22, 1, 22, true},
		{1e23, 10, 22, true}, // the float nearest 10^23 is 10 × 10^22 rounded
		{1 << 53, 1 << 53, 0, true},
		{-(1 << 53), -(1 << 53), 0, true},
		{1<<53 + 2, 0, 0, false},
		{1e16, 1, 16, true},
		{123456789012345.6, 1234567890123456, -1, true},
		{0.30000000000000004, 0, 0, false}, // 0.1+0.2 at run time: 17 digits
		{1.0 / 3, 3333333333333333, -16, true},
		{2.0 / 3, 6666666666666666, -16, true},
		{0.9999999999999999, 0, 0, false}, // 16 digits, but the mantissa is above 2^53
		{1e-23, 0, 0, false},
		{math.SmallestNonzeroFloat64, 0, 0, false},
		{math.MaxFloat64, 0, 0, false},
		{math.Inf(1), 0, 0, false},
		{math.Inf(-1), 0, 0, false},
		{math.NaN(), 0, 0, false},
	}
	for _, tt := range tests {
		m, exp, ok := decimalOf(tt.v)
		if m != tt.m || exp != tt.exp || ok != tt.ok {
			t.Errorf("decimalOf(%v) = %d, %d, %v; want %d, %d, %v", tt.v, m, exp, ok, tt.m, tt.exp, tt.ok)
		}
		if ok && math.Float64bits(decimalValue(m, exp)) != math.Float64bits(tt.v) {
			t.Errorf("decimalValue(%d, %d) = %v, want %v", m, exp, decimalValue(m, exp), tt.v)
		}
	}
}

// TestDecimalOfIsShortestRepr checks decimalOf against strconv's shortest
// digits on random short decimals: same value, and never more digits.
func TestDecimalOfIsShortestRepr(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200_000 {
		v := float64(r.Int64N(1e9)-5e8) / math.Pow10(r.IntN(12))
		m, exp, ok := decimalOf(v)
		if !ok {
			t.Fatalf("decimalOf(%v) found no decimal", v)
		}
		if got := decimalValue(m, exp); got != v {
			t.Fatalf("decimalOf(%v) = %d e%d, which reads back as %v", v, m, exp, got)
		}
		digits := strconv.FormatInt(m, 10)
		if m < 0 {
			digits = digits[1:]
		}
		shortest := strconv.FormatFloat(math.Abs(v), 'e', -1, 64)
		// "d.ddde±x": the digits are everything before 'e' minus the point.
		n := 0
		for _, c := range shortest {
			if c == 'e' {
				break
			}
			if c != '.' {
				n++
			}
		}
		if v != 0 && len(digits) != n {
			t.Fatalf("decimalOf(%v) = %d e%d: %d digits, shortest repr %s has %d", v, m, exp, len(digits), shortest, n)
		}
	}
}
