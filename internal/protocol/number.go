package protocol

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// ErrSyntax is returned by ParseFloat and ParseInt for text that Python's
// float() or int() would reject.
var ErrSyntax = errors.New("protocol: invalid number syntax")

// ErrRange is returned by ParseInt for an integer that Python accepts but
// that does not fit an int64 (a documented difference: Python has no limit).
var ErrRange = errors.New("protocol: integer out of int64 range")

// Python's NaN bit patterns. float("nan") is the quiet NaN with an all-zero
// payload and float("-nan") sets the sign bit; math.NaN() has payload 1, so
// these are spelled out to give bit-identical results.
const (
	pythonNaN    = 0x7ff8000000000000
	pythonNegNaN = 0xfff8000000000000
)

// Decimal-point positions (see decimalShape) beyond which a value is certain
// to overflow or underflow: a value with decpt >= 310 is at least 1e309, above
// the largest float64 (about 1.8e308), and one with decpt <= -324 is below
// 1e-324, under half the smallest subnormal (about 4.9e-324), so it rounds to
// zero. Deciding these without strconv avoids the two allocations of its
// ErrRange error and its slow path for huge exponents.
const (
	overflowDecpt  = 310
	underflowDecpt = -324
)

// longNumber is the length above which ParseFloat rewrites a number before
// handing it to strconv. strconv (Go 1.26) misreads long texts on its slow
// path: with more than 800 significant digits before the point it misplaces
// the point ("9"*1000 + "e-1000" gives 1e-200, not 1.0), and it stops
// reading exponents at about 10000 (golang/go#42436), which matters when
// thousands of zeros offset them. Neither can happen below 800 bytes.
const longNumber = 512

// maxSignificant is how many significant digits parseLongFloat keeps. It is
// strconv's own decimal precision: enough because a float64 halfway point
// has at most 767 significant digits, so one more "sticky" digit standing
// for everything dropped decides every rounding exactly.
const maxSignificant = 800

// exponentCap stands in for any larger exponent: it is far past
// overflowDecpt and underflowDecpt whatever the mantissa length (tokens are
// bounded by the line limit, far below 2^30 bytes), and fits a 32-bit int.
const exponentCap = 1 << 30

// ParseFloat parses tok as Python's float() does (docs/protocol.md,
// "Parsing a line", rule 5): surrounding whitespace ignored (float() strips
// the str.split() set minus U+001C..U+001F), optional sign, digits with an
// optional fraction ("5", "5.", ".5"), optional exponent, single underscores
// between digits (also in the exponent: "1e1_0"), and "inf", "infinity",
// "nan" in any case with an optional sign. Overflow gives ±Inf and underflow
// ±0, as in Python, not an error. NaN comes back with Python's bits (sign bit
// set for "-nan").
//
// Anything else is ErrSyntax, including hexadecimal, "1e", ".", "1__0" and
// non-ASCII decimal digits, which Python accepts (a documented difference).
//
// The grammar is checked here; strconv.ParseFloat then does the correctly
// rounded conversion, since every string that passes is also a Go float
// literal (Go allows "_" between digits too). Values certain to overflow or
// underflow are settled before strconv, and texts longer than longNumber
// are rewritten first to dodge strconv's long-input bugs. ParseFloat does
// not allocate, except that a value overflowing by less than a factor of
// ten (1.8e308 to 9.9e308) costs the two allocations of strconv's range
// error.
func ParseFloat(tok []byte) (float64, error) {
	s := trimNumberSpace(tok)
	body, neg := cutSign(s)
	if len(body) > 0 && isLetter(body[0]) {
		return parseSpecial(body, neg)
	}
	decpt, zero, ok := decimalShape(body)
	switch {
	case !ok:
		return 0, ErrSyntax
	case zero:
		return math.Copysign(0, signOf(neg)), nil
	case decpt >= overflowDecpt:
		return math.Inf(int(signOf(neg))), nil
	case decpt <= underflowDecpt:
		return math.Copysign(0, signOf(neg)), nil
	}
	if len(s) > longNumber {
		return parseLongFloat(body, neg, decpt)
	}
	return convertFloat(s)
}

// convertFloat returns strconv's correctly rounded value of s, which
// decimalShape has accepted.
func convertFloat(s []byte) (float64, error) {
	// strconv does not keep s: it copies the text it puts into an error. So a
	// view of the bytes is safe for the duration of the call and avoids the
	// copy string(s) makes for tokens longer than 32 bytes.
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(s), len(s)), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// Unreachable while decimalShape admits only Go float literals; kept so
		// a disagreement becomes a parse error rather than a wrong value.
		return 0, ErrSyntax
	}
	return v, nil // on ErrRange v is ±Inf, which is what Python gives
}

// parseLongFloat converts the mantissa digits of body, an unsigned number
// that decimalShape accepted with point position decpt inside the float64
// range, by rewriting it as "0.<digits>e<decpt>": at most maxSignificant
// digits plus a sticky '1' if any dropped digit is nonzero, and a small
// exponent, which strconv reads correctly. It does not allocate.
func parseLongFloat(body []byte, neg bool, decpt int) (float64, error) {
	var buf [maxSignificant + 16]byte // sign, "0.", digits, sticky, "e-ddd"
	out := buf[:0]
	if neg {
		out = append(out, '-')
	}
	out = append(out, '0', '.')
	kept, sticky := 0, false
	for _, c := range body {
		if c|0x20 == 'e' {
			break
		}
		switch {
		case !isDigit(c), c == '0' && kept == 0: // '_', '.', leading zeros
		case kept < maxSignificant:
			out = append(out, c)
			kept++
		case c != '0':
			sticky = true
		}
	}
	if sticky {
		out = append(out, '1')
	}
	out = append(out, 'e')
	out = strconv.AppendInt(out, int64(decpt), 10)
	return convertFloat(out)
}

// ParseInt parses tok as Python's int() does (docs/protocol.md, "Parsing a
// line", rule 6): surrounding whitespace ignored as in ParseFloat, optional
// sign, decimal digits with leading zeros allowed ("007" is 7) and single
// underscores between digits. A well-formed integer outside int64 is
// ErrRange; anything else Python rejects ("5.0", "1e3", "", "+") and
// non-ASCII digits, which Python accepts, are ErrSyntax. ParseInt does not
// allocate.
func ParseInt(tok []byte) (int64, error) {
	body, neg := cutSign(trimNumberSpace(tok))
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -9223372036854775808 has no positive counterpart
	}
	end, digits, _, ok := scanDigits(body, 0)
	if !ok || digits == 0 || end != len(body) {
		return 0, ErrSyntax
	}
	v, over := digitsValue(body, limit)
	switch {
	case over:
		return 0, ErrRange
	case neg:
		// Negating in uint64 and converting wraps 1<<63 to MinInt64 exactly.
		return int64(-v), nil
	}
	return int64(v), nil
}

// cutSign removes one leading '+' or '-' and reports whether it was '-'.
func cutSign(s []byte) (body []byte, neg bool) {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		return s[1:], s[0] == '-'
	}
	return s, false
}

// signOf returns -1 for negative and +1 otherwise, for math.Copysign/Inf.
func signOf(neg bool) float64 {
	if neg {
		return -1
	}
	return 1
}

// isDigit reports whether c is an ASCII decimal digit; the only digits
// metricsd accepts (Python also takes other Unicode decimal digits).
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isLetter reports whether c is an ASCII letter, which can only start one of
// the names "inf", "infinity" and "nan".
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// parseSpecial parses the names float() accepts after the sign: "inf",
// "infinity" and "nan", case-insensitively.
func parseSpecial(body []byte, neg bool) (float64, error) {
	switch {
	case equalFoldASCII(body, "inf"), equalFoldASCII(body, "infinity"):
		return math.Inf(int(signOf(neg))), nil
	case equalFoldASCII(body, "nan") && neg:
		return math.Float64frombits(pythonNegNaN), nil
	case equalFoldASCII(body, "nan"):
		return math.Float64frombits(pythonNaN), nil
	}
	return 0, ErrSyntax
}

// equalFoldASCII reports whether b equals the lower-case ASCII word lower,
// ignoring case. Setting bit 0x20 maps only 'A'..'Z' onto 'a'..'z' among the
// bytes that can match a letter, so no other byte compares equal.
func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// decimalShape checks that s is Python's unsigned decimal floatnumber,
//
//	number   ::= [digitpart] "." digitpart | digitpart ["."]
//	exponent ::= ("e" | "E") ["+" | "-"] digitpart
//	float    ::= number [exponent]
//
// and returns the decimal-point position decpt of its value, which lies in
// [10^(decpt-1), 10^decpt), or zero when every mantissa digit is 0.
func decimalShape(s []byte) (decpt int, zero, ok bool) {
	i, wholeDigits, wholeZeros, ok := scanDigits(s, 0)
	fracDigits, fracZeros := 0, 0
	if ok && i < len(s) && s[i] == '.' {
		i, fracDigits, fracZeros, ok = scanDigits(s, i+1)
	}
	if !ok || wholeDigits+fracDigits == 0 {
		return 0, false, false
	}
	switch {
	case wholeZeros < wholeDigits:
		decpt = wholeDigits - wholeZeros
	case fracZeros < fracDigits:
		decpt = -fracZeros
	default:
		zero = true
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		e, ok := parseExponent(s[i+1:])
		return decpt + e, zero, ok
	}
	return decpt, zero, i == len(s)
}

// parseExponent parses the signed digitpart after an 'e', which must run to
// the end of s, capping its magnitude at exponentCap.
func parseExponent(s []byte) (int, bool) {
	body, neg := cutSign(s)
	end, digits, _, ok := scanDigits(body, 0)
	if !ok || digits == 0 || end != len(body) {
		return 0, false
	}
	e := exponentCap
	if v, over := digitsValue(body, exponentCap); !over {
		e = int(v)
	}
	if neg {
		e = -e
	}
	return e, true
}

// scanDigits scans Python's digitpart, digit (["_"] digit)*, which may be
// empty, starting at s[i]. It returns the index just past it, its number of
// digits and of leading '0' digits (underscores not counted), and false if
// an underscore is not between two digits, which Python rejects wherever it
// appears.
func scanDigits(s []byte, i int) (end, digits, zeros int, ok bool) {
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '0' && zeros == digits:
			zeros++
			digits++
		case isDigit(c):
			digits++
		case c == '_':
			if digits == 0 || i+1 >= len(s) || !isDigit(s[i+1]) {
				return i, digits, zeros, false
			}
		default:
			return i, digits, zeros, true
		}
	}
	return i, digits, zeros, true
}

// digitsValue returns the value of a digitpart that scanDigits accepted,
// skipping underscores, and whether it exceeds limit (the value is then
// meaningless).
func digitsValue(s []byte, limit uint64) (v uint64, over bool) {
	// v*10+d <= limit iff v < cutoff, or v == cutoff and d <= lastDigit; this
	// test cannot overflow, unlike computing v*10+d first.
	cutoff, lastDigit := limit/10, limit%10
	for _, c := range s {
		if c == '_' {
			continue
		}
		d := uint64(c - '0')
		if v > cutoff || v == cutoff && d > lastDigit {
			return 0, true
		}
		v = v*10 + d
	}
	return v, false
}
