package protocol

import (
	"errors"
	"unicode/utf8"
)

// ErrInvalidUTF8 is returned by Split for a line that is not valid UTF-8.
// The reference server decodes the whole line before splitting it, so one bad
// byte anywhere makes the line an error, even inside an otherwise fine key.
var ErrInvalidUTF8 = errors.New("protocol: invalid UTF-8")

// splitSpaceASCII has bit c set for every ASCII byte c that Python's
// str.split() treats as whitespace: U+0009..U+000D, U+001C..U+001F and
// U+0020 (docs/protocol.md, "Parsing a line", rule 2). A constant mask keeps
// the fast path to one shift and needs no table in mutable package state.
const splitSpaceASCII uint64 = 1<<'\t' | 1<<'\n' | 1<<'\v' | 1<<'\f' | 1<<'\r' |
	1<<0x1c | 1<<0x1d | 1<<0x1e | 1<<0x1f | 1<<' '

// numberSpaceASCII is the ASCII whitespace that float() and int() strip
// around a number. It lacks U+001C..U+001F: CPython strips numbers with the
// C-locale isspace(), although str.split() separates tokens on those four.
const numberSpaceASCII uint64 = 1<<'\t' | 1<<'\n' | 1<<'\v' | 1<<'\f' |
	1<<'\r' | 1<<' '

// isSplitSpace reports whether the byte c is ASCII whitespace that separates
// tokens. Masking the shift count tells the compiler it is below 64, which
// saves the fix-up code of an unbounded shift on this hot path.
func isSplitSpace(c byte) bool {
	return c < 64 && splitSpaceASCII>>(c&63)&1 != 0
}

// isNumberSpace reports whether float() and int() strip the ASCII byte c.
func isNumberSpace(c byte) bool {
	return c < 64 && numberSpaceASCII>>(c&63)&1 != 0
}

// isUnicodeSpace reports whether the non-ASCII rune r is whitespace for
// Python (Py_UNICODE_ISSPACE): the non-ASCII half of the set in
// docs/protocol.md, "Parsing a line", rule 2.
// The list is spelled out rather than taken from unicode.IsSpace so that it
// stays pinned to the spec whatever Unicode version Go ships.
func isUnicodeSpace(r rune) bool {
	switch {
	case r == 0x85, r == 0xa0, r == 0x1680:
		return true
	case r >= 0x2000 && r <= 0x200a:
		return true
	case r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// Split splits line into tokens as Python's str.split() does, storing up to
// len(dst) tokens in dst. It returns the number of tokens in the line (which
// may exceed len(dst); the extra ones are not stored) and ErrInvalidUTF8 if
// the line is not valid UTF-8, in which case the count is 0 and dst may hold
// partial results.
//
// Runs of Python whitespace separate tokens and leading or trailing ones are
// ignored, so a trailing "\n" or "\r\n" needs no trimming. Each token is a
// sub-slice of line whose capacity ends with the token, so appending to it
// cannot overwrite the rest of the line. Bytes below 0x80 take a fast path;
// runes are decoded only when a byte >= 0x80 appears. Split does not
// allocate.
func Split(line []byte, dst [][]byte) (int, error) {
	n := 0
	for i := 0; ; {
		start, err := skipSpace(line, i)
		if err != nil {
			return 0, err
		}
		if start == len(line) {
			return n, nil
		}
		if i, err = skipToken(line, start); err != nil {
			return 0, err
		}
		if n < len(dst) {
			dst[n] = line[start:i:i]
		}
		n++
	}
}

// skipSpace returns the index of the first non-whitespace rune at or after
// line[i], or len(line). The inner loop is the ASCII fast path.
func skipSpace(line []byte, i int) (int, error) {
	for i < len(line) {
		if c := line[i]; c < utf8.RuneSelf {
			if !isSplitSpace(c) {
				return i, nil
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		if size == 1 { // only an invalid encoding decodes to 1 byte here
			return i, ErrInvalidUTF8
		}
		if !isUnicodeSpace(r) {
			return i, nil
		}
		i += size
	}
	return i, nil
}

// skipToken returns the index of the first whitespace rune at or after
// line[i], or len(line): the end of the token that starts at line[i].
func skipToken(line []byte, i int) (int, error) {
	for i < len(line) {
		if c := line[i]; c < utf8.RuneSelf {
			if isSplitSpace(c) {
				return i, nil
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		if size == 1 {
			return i, ErrInvalidUTF8
		}
		if isUnicodeSpace(r) {
			return i, nil
		}
		i += size
	}
	return i, nil
}

// trimNumberSpace strips the whitespace that Python's float() and int()
// ignore around a number: numberSpaceASCII plus the non-ASCII whitespace.
func trimNumberSpace(b []byte) []byte {
	for len(b) > 0 {
		if c := b[0]; c < utf8.RuneSelf {
			if !isNumberSpace(c) {
				break
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if size == 1 || !isUnicodeSpace(r) {
			break
		}
		b = b[size:]
	}
	for len(b) > 0 {
		if c := b[len(b)-1]; c < utf8.RuneSelf {
			if !isNumberSpace(c) {
				break
			}
			b = b[:len(b)-1]
			continue
		}
		r, size := utf8.DecodeLastRune(b)
		if size == 1 || !isUnicodeSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}
