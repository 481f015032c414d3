package protocol

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// fuzzLines seeds FuzzParse with the spec's examples and the edges.
var fuzzLines = []string{
	"put test_key 12.0 1503319740\n", "get test_key\n", "get *\n", "got test_key\n",
	"put k 1 2\r\n", "put\u00a0k\u30001\u20282\n", "put k 1_000.5 0_07\n", "put k -nan +5\n",
	"put k 1e400 -0\n", "put k 1 9223372036854775808\n", "put k 0x10 1\n", "put k \u0665 1\n",
	"get \xed\xa0\x80\n", "get \xc0\xaf\n", "get k\xe2\x82\n", "put k 1 2 3\n", "\n", "",
	"put\x1ck\x1d1\x1e2\x1f", "get\u200bk\n", "put k 1 2\x85",
}

func FuzzParse(f *testing.F) {
	for _, line := range fuzzLines {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		var req Request
		err := Parse(line, &req)
		if !bytes.Equal(line, orig) {
			t.Fatalf("Parse modified its input: %q -> %q", orig, line)
		}
		checkSplitAgainstReference(t, line)
		if err != nil {
			if !errors.Is(err, ErrWrongCommand) || !sameRequest(req, Request{}) {
				t.Fatalf("Parse(%q) = %+v, %v; want zero Request, ErrWrongCommand", line, req, err)
			}
			return
		}
		checkKeyInLine(t, line, req.Key)
		switch req.Command {
		case CmdGet:
			if req.AllKeys != (string(req.Key) == "*") || req.Value != 0 || req.Timestamp != 0 {
				t.Fatalf("Parse(%q) = %+v: inconsistent get", line, req)
			}
		case CmdPut:
			checkPutRoundTrip(t, req)
		default:
			t.Fatalf("Parse(%q) succeeded with command %d", line, req.Command)
		}
	})
}

// checkSplitAgainstReference compares Split with the obviously correct
// referenceSplit on the same line.
func checkSplitAgainstReference(t *testing.T, line []byte) {
	var dst [maxTokens][]byte
	n, err := Split(line, dst[:])
	want, ok := referenceSplit(line)
	if (err == nil) != ok || (ok && n != len(want)) {
		t.Fatalf("Split(%q) = %d, %v; reference %d tokens, valid=%v", line, n, err, len(want), ok)
	}
	for i := range min(n, len(dst)) {
		if !bytes.Equal(dst[i], want[i]) {
			t.Fatalf("Split(%q) token %d = %q, reference %q", line, i, dst[i], want[i])
		}
	}
}

// checkKeyInLine checks that key is a view into line, not a copy.
func checkKeyInLine(t *testing.T, line, key []byte) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(line)))
	k := uintptr(unsafe.Pointer(unsafe.SliceData(key)))
	if len(key) == 0 || k < start || k+uintptr(len(key)) > start+uintptr(len(line)) {
		t.Fatalf("Key %q is not a sub-slice of line %q", key, line)
	}
}

// checkPutRoundTrip checks that what a get would print for a put reads back
// as the same point.
func checkPutRoundTrip(t *testing.T, req Request) {
	text := AppendFloat(nil, req.Value)
	back, err := ParseFloat(text)
	sameBits := math.Float64bits(back) == math.Float64bits(req.Value)
	if err != nil || !sameBits && !(math.IsNaN(back) && math.IsNaN(req.Value)) {
		t.Fatalf("value %#x printed %q, parsed back %#x, %v", math.Float64bits(req.Value), text, math.Float64bits(back), err)
	}
	ts, err := ParseInt(strconv.AppendInt(nil, req.Timestamp, 10))
	if err != nil || ts != req.Timestamp {
		t.Fatalf("timestamp %d parsed back as %d, %v", req.Timestamp, ts, err)
	}
}

// pythonNumberTrim trims what float() and int() strip, for the fuzz
// oracles: ASCII isspace plus the non-ASCII Python whitespace.
func pythonNumberTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r < utf8.RuneSelf && isNumberSpace(byte(r)) || r >= utf8.RuneSelf && isUnicodeSpace(r)
	})
}

// onlyBytes reports whether every byte of s is in set.
func onlyBytes(s, set string) bool {
	for i := range len(s) {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{
		"12.0", "5.", ".5", "-.5e-3", "1_000.5", "1e1_0", "1__0", "_1", "1_", "1_.5", "1._5", "1e_5",
		"inf", "-Infinity", "nan", "-nan", "1e400", "1e-400", "0x10", ".", "1e", "", " 5\n", "\u00a05",
		"\x1c5", "\u0665", "2.4703282292062328e-324", "1.7976931348623159e308", "Inf", "+infinity",
		"0e99999999999999999", "1" + strings.Repeat("0", 400), "0." + strings.Repeat("0", 400) + "1",
		strings.Repeat("9", 1000) + "e-1000", "-" + strings.Repeat("9", 801) + ".5e-801",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseFloat([]byte(s))
		body := pythonNumberTrim(s)
		if err == nil {
			checkFloatAcceptedByStrconv(t, s, body, v)
			return
		}
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("ParseFloat(%q) error %v, want ErrSyntax", s, err)
		}
		// Over plain decimal characters Python's grammar and Go's coincide, so
		// strconv accepting such text means ParseFloat rejected a good number.
		if onlyBytes(body, "0123456789.eE+-") {
			if _, serr := strconv.ParseFloat(body, 64); serr == nil || errors.Is(serr, strconv.ErrRange) {
				t.Fatalf("ParseFloat(%q) = %v but strconv accepts it", s, err)
			}
		}
	})
}

// checkFloatAcceptedByStrconv checks an accepted input: it must use only the
// characters of Python's float grammar and mean the same number to strconv
// and, when its exponent is small enough to compute with, to exact rational
// arithmetic. strconv is no oracle for long texts (see longNumber), big.Rat
// is, so a long text is checked against big.Rat alone.
func checkFloatAcceptedByStrconv(t *testing.T, s, body string, v float64) {
	if !onlyBytes(strings.ToLower(body), "0123456789._e+-infatyn") {
		t.Fatalf("ParseFloat(%q) accepted a character outside the grammar", s)
	}
	if math.IsNaN(v) { // strconv takes no sign on "nan"; Python does
		if unsigned, _ := strings.CutPrefix(strings.TrimPrefix(body, "+"), "-"); !strings.EqualFold(unsigned, "nan") {
			t.Fatalf("ParseFloat(%q) = NaN", s)
		}
		return
	}
	plain := strings.ReplaceAll(body, "_", "")
	if want, ok := exactFloat(plain); ok && math.Float64bits(want) != math.Float64bits(v) {
		t.Fatalf("ParseFloat(%q) = %v (%#x), exact %v (%#x)", s, v, math.Float64bits(v), want, math.Float64bits(want))
	}
	if len(plain) > longNumber {
		return
	}
	want, err := strconv.ParseFloat(plain, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.Fatalf("ParseFloat(%q) = %v but strconv rejects it: %v", s, v, err)
	}
	if math.Float64bits(want) != math.Float64bits(v) {
		t.Fatalf("ParseFloat(%q) = %v (%#x), strconv %v (%#x)", s, v, math.Float64bits(v), want, math.Float64bits(want))
	}
}

// exactFloat returns the correctly rounded float64 of a decimal text via
// big.Rat, or false when the text is "inf"-like or its exponent too large to
// expand cheaply.
func exactFloat(text string) (float64, bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(text), "e")
	if strings.ContainsAny(mant, "in") || hasExp && len(strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")) > 4 {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return 0, false
	}
	f, _ := r.Float64() // ties to even; ±Inf past the largest float64
	if strings.HasPrefix(text, "-") {
		f = math.Copysign(f, -1) // big.Rat has no negative zero
	}
	return f, true
}

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "007", "-0", "+5", "1_000", "1__0", "_1", "1_", "5.0", "1e3", "",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", " 5\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseInt([]byte(s))
		body := pythonNumberTrim(s)
		want, serr := strconv.ParseInt(strings.ReplaceAll(body, "_", ""), 10, 64)
		switch {
		case err == nil && (serr != nil || want != v):
			t.Fatalf("ParseInt(%q) = %d, strconv %d, %v", s, v, want, serr)
		case errors.Is(err, ErrRange) && !errors.Is(serr, strconv.ErrRange):
			t.Fatalf("ParseInt(%q) = ErrRange, strconv %d, %v", s, want, serr)
		case err != nil && serr == nil && !strings.Contains(body, "_"):
			t.Fatalf("ParseInt(%q) = %v, strconv accepts it as %d", s, err, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 10, 1e16, 1e-5, 1e-4, 4200000, 1234567890123456.8,
		1.2345678901234568e17, 5e-324, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 0.1} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		out := string(AppendFloat(nil, v))
		checkReprShape(t, v, out)
		back, err := ParseFloat([]byte(out))
		if err != nil || math.Float64bits(back) != bits && !(math.IsNaN(v) && math.IsNaN(back)) {
			t.Fatalf("ParseFloat(AppendFloat(%#x) = %q) = %#x, %v", bits, out, math.Float64bits(back), err)
		}
	})
}
