package protocol

import (
	"math"
	"strconv"
)

// Short decimals: the values that metrics mostly carry ("12.34", "1503",
// "0.5"). Python's repr() of such a float64 is its decimal digits, so they
// can be formatted from an integer mantissa without strconv's shortest-digit
// search, which is most of the cost of a `get *` answer (issue #3).

// maxShortMantissa bounds ShortDecimal's mantissas to 15 digits. Two
// different decimals of at most 15 significant digits never round to the
// same float64 (DBL_DIG is 15), so a 15-digit decimal that reads back as v is
// the shortest one, the very digits repr(v) prints.
const maxShortMantissa = 1e15

// maxShortFraction is the most fractional digits ShortDecimal tries; 10^22
// is the largest power of ten that a float64 holds exactly.
const maxShortFraction = 22

// shortPow10 holds the exact float64 powers 10^0..10^22.
var shortPow10 = [maxShortFraction + 1]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// ShortDecimal returns v as mantissa × 10^exp with at most 15 significant
// digits and exp in [-22, 0], when v is such a decimal: then
// AppendDecimal(dst, mantissa, exp) appends exactly what AppendFloat(dst, v)
// does, several times faster. ok is false for -0.0, NaN, ±Inf, values of
// 10^15 or more, and values that need more digits (0.1+0.2, 1/3); those
// must go through AppendFloat.
//
// It tries 0, 1, 2... fractional digits until the mantissa would pass 15
// digits, checking each candidate by the correctly rounded division that
// reads it back (float64(m) and 10^k are exact), so a two-decimal value
// costs three tries and a value that is no short decimal about fifteen.
func ShortDecimal(v float64) (mantissa int64, exp int, ok bool) {
	if v == 0 {
		return 0, 0, !math.Signbit(v)
	}
	if !(math.Abs(v) < maxShortMantissa) { // also rejects NaN
		return 0, 0, false
	}
	for k := 0; k <= maxShortFraction; k++ {
		f := v * shortPow10[k]
		if math.Abs(f) >= maxShortMantissa {
			break
		}
		if r := math.Round(f); r/shortPow10[k] == v {
			return int64(r), -k, true
		}
	}
	return 0, 0, false
}

// AppendDecimal appends the decimal mantissa × 10^exp in Python's repr()
// layout: fixed notation with at least one digit after the point when the
// exponent of its leading digit is in [-4, 16), scientific otherwise, and
// trailing zeros dropped ("0.0" for a zero mantissa). When the decimal is
// the shortest one that reads back as some float64 v — which every result
// of ShortDecimal is — the bytes are exactly AppendFloat(dst, v)'s.
//
// AppendDecimal does not allocate beyond growing dst.
func AppendDecimal(dst []byte, mantissa int64, exp int) []byte {
	if mantissa == 0 {
		return append(dst, '0', '.', '0')
	}
	mag := uint64(mantissa)
	if mantissa < 0 {
		dst = append(dst, '-')
		mag = -mag // also right for MinInt64
	}
	for mag%10 == 0 {
		mag /= 10
		exp++
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], mag, 10)
	lead := exp + len(digits) - 1 // the exponent of the leading digit
	if lead < reprMinFixedExp || lead >= reprMaxFixedExp {
		return appendScientific(dst, digits, lead)
	}
	return appendFixed(dst, digits, lead)
}
