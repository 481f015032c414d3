package chunkenc

import "math"

// maxExp10 is the largest k for which 10^k is exact as a float64 (5^22 <
// 2^53), and so the largest decimal exponent, either way, that the decimal
// encodings use.
const maxExp10 = 22

// maxMantissa is the largest mantissa magnitude that a float64 holds
// exactly; with an exact power of ten, one division or multiplication then
// rounds the decimal correctly (Clinger's fast path).
const maxMantissa = 1 << 53

// pow10 holds the exact float64 powers of ten 10^0..10^22.
var pow10 = [maxExp10 + 1]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// pow10Int holds 10^0..10^18, the powers of ten that fit an int64.
var pow10Int = [19]int64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
}

// decimalValue returns m × 10^exp rounded to a float64, for exp in [-22,
// 22]. It is exact-then-rounded-once (so equal to strconv's reading of the
// decimal) when |m| <= 2^53; for larger m it is still deterministic, which
// is all a decoder of arbitrary bytes needs.
func decimalValue(m int64, exp int) float64 {
	if exp < 0 {
		return float64(m) / pow10[-exp]
	}
	return float64(m) * pow10[exp]
}

// decimalOf returns the shortest decimal m × 10^exp (m not a multiple of
// 10, unless 0 or exp is 22) that decimalValue reads back as exactly v, with
// |m| <= 2^53 and exp in [-22, 22]. ok is false for values without one: NaN,
// ±Inf, -0.0, and values needing more digits or a larger exponent (0.1+0.2,
// 1e-30, 2^53+2).
//
// It tries k = 0, 1, 2... fractional digits, so a value with two decimals
// costs three tries; each try is checked by the very computation the decoder
// does, so a found decimal always round-trips.
func decimalOf(v float64) (m int64, exp int, ok bool) {
	if v == 0 {
		return 0, 0, !math.Signbit(v)
	}
	a := math.Abs(v)
	switch {
	case a <= maxMantissa:
		for k := 0; k <= maxExp10; k++ {
			f := v * pow10[k]
			if math.Abs(f) > maxMantissa {
				return 0, 0, false
			}
			if r := math.Round(f); r/pow10[k] == v {
				m, exp = stripZeros(int64(r), -k)
				return m, exp, true
			}
		}
	case a < maxMantissa*pow10[maxExp10]: // false for NaN and ±Inf
		for k := 1; k <= maxExp10; k++ {
			if r := math.Round(v / pow10[k]); math.Abs(r) <= maxMantissa && r*pow10[k] == v {
				m, exp = stripZeros(int64(r), k)
				return m, exp, true
			}
		}
	}
	return 0, 0, false
}

// stripZeros moves m's trailing zeros into the exponent: the same decimal,
// with the smallest mantissa.
func stripZeros(m int64, exp int) (int64, int) {
	for m != 0 && m%10 == 0 && exp < maxExp10 {
		m /= 10
		exp++
	}
	return m, exp
}

// rescale returns m × 10^k for k >= 0, and whether the result stays within
// ±limit (which also rules out overflow).
func rescale(m int64, k int, limit int64) (int64, bool) {
	if m == 0 {
		return 0, true
	}
	if k >= len(pow10Int) {
		return 0, false
	}
	f := pow10Int[k]
	if magnitude(m) > uint64(limit/f) {
		return 0, false
	}
	return m * f, true
}

// magnitude returns |x| as a uint64, which holds it even for MinInt64.
func magnitude(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// mantissasToValues turns the mantissas that decodeIntBlock left in pts'
// values (as raw bits) into the float64 values they stand for.
func mantissasToValues(pts []Point, exp int) {
	for i := range pts {
		m := int64(math.Float64bits(pts[i].Value))
		pts[i].Value = decimalValue(m, exp)
	}
}
