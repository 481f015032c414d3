package protocol

import (
	"math"
	"strconv"
)

// Python's repr() switches to scientific notation when the decimal exponent
// of the leading digit is below reprMinFixedExp or at least reprMaxFixedExp
// (CPython float_repr_style "short": fixed iff -4 <= exp < 16).
const (
	reprMinFixedExp = -4
	reprMaxFixedExp = 16
)

// shortestLen bounds strconv's shortest 'e' form of a float64,
// "-d.dddddddddddddddde-ddd" (17 digits), with room to spare.
const shortestLen = 32

// AppendFloat appends Python's repr() of v (docs/protocol.md, "Formatting a
// point"): the shortest digits that read back as the same float64, in fixed
// notation with at least one digit after the point when the decimal exponent
// is in [-4, 16) ("10.0", "0.0001", "1234567890123456.8"), otherwise in
// scientific notation with a sign and at least two exponent digits ("1e+16",
// "1e-05", "5e-324"); "inf", "-inf", "nan" (for every NaN) and "-0.0".
//
// AppendFloat does not allocate beyond growing dst.
func AppendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "nan"...) // repr drops NaN's sign and payload
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	// Most metrics are short decimals (23.7, 0.25, 4200): their digits come
	// from integer arithmetic, several times faster than strconv's search.
	if m, exp, ok := ShortDecimal(v); ok {
		return AppendDecimal(dst, m, exp)
	}
	// strconv finds the shortest round-trip digits (the same ones as
	// Python's repr); only their layout differs.
	var buf [shortestLen]byte
	form := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	if form[0] == '-' {
		dst = append(dst, '-')
		form = form[1:]
	}
	var digitBuf [shortestLen]byte
	digits, exp := splitExponentForm(form, digitBuf[:0])
	if exp < reprMinFixedExp || exp >= reprMaxFixedExp {
		return appendScientific(dst, digits, exp)
	}
	return appendFixed(dst, digits, exp)
}

// splitExponentForm takes strconv's unsigned "d[.ddd]e±dd" and appends its
// digits, without the point, to digits; exp is the exponent of the first.
func splitExponentForm(form, digits []byte) ([]byte, int) {
	i := 0
	for ; i < len(form) && form[i] != 'e'; i++ {
		if form[i] != '.' {
			digits = append(digits, form[i])
		}
	}
	exp := 0
	neg := i+1 < len(form) && form[i+1] == '-'
	for i += 2; i < len(form); i++ { // skip 'e' and the exponent's sign
		exp = exp*10 + int(form[i]-'0')
	}
	if neg {
		exp = -exp
	}
	return digits, exp
}

// appendScientific lays out d.ddde±XX as repr does: no point for a single
// digit, and an exponent of at least two digits.
func appendScientific(dst, digits []byte, exp int) []byte {
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e', '+')
	if exp < 0 {
		dst[len(dst)-1] = '-'
		exp = -exp
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// appendFixed lays out the digits with the point after digit exp+1, padding
// with zeros on either side and ending in ".0" for whole numbers.
func appendFixed(dst, digits []byte, exp int) []byte {
	if exp < 0 {
		dst = append(dst, '0', '.')
		dst = appendZeros(dst, -exp-1)
		return append(dst, digits...)
	}
	if intLen := exp + 1; intLen < len(digits) {
		dst = append(dst, digits[:intLen]...)
		dst = append(dst, '.')
		return append(dst, digits[intLen:]...)
	}
	dst = append(dst, digits...)
	dst = appendZeros(dst, exp+1-len(digits))
	return append(dst, '.', '0')
}

// appendZeros appends n '0' bytes.
func appendZeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, '0')
	}
	return dst
}
