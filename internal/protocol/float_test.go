package protocol

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseFloatValid(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		in   string
		want float64
	}{
		{"5", 5}, {"-5", -5}, {"+5", 5}, {"5.", 5}, {".5", 0.5}, {"5.25", 5.25},
		{"-.5", -0.5}, {"+.5e-3", 0.0005}, {"007", 7}, {"0", 0}, {"-0", negZero},
		{"-0.0", negZero}, {"0e400", 0}, {"-0e-400", negZero},
		{"1e5", 1e5}, {"1E-7", 1e-7}, {"1e+5", 1e5}, {"1.e5", 1e5}, {"1.5E+07", 1.5e7},
		{"1_000.5", 1000.5}, {"1_000", 1000}, {"0_0", 0}, {"00_1", 1}, {".5_5", 0.55},
		{"1.5_5", 1.55}, {"1e1_0", 1e10}, {"1e+1_0", 1e10}, {"1_0e1_0", 1e11},
		{"1_2.3_4e5_6", 1.234e57},
		{"inf", math.Inf(1)}, {"INF", math.Inf(1)}, {"-iNf", math.Inf(-1)},
		{"+infinity", math.Inf(1)}, {"Infinity", math.Inf(1)}, {"-INFINITY", math.Inf(-1)},
		{"1e400", math.Inf(1)}, {"-1e400", math.Inf(-1)}, {"1.8e308", math.Inf(1)},
		{"1.7976931348623159e308", math.Inf(1)}, // rounds past the top: strconv's ErrRange
		{"1.7976931348623157e308", math.MaxFloat64},
		{"1e-400", 0}, {"-1e-400", negZero}, {"2.4703282292062327e-324", 0},
		{"2.4703282292062328e-324", 5e-324}, {"5e-324", 5e-324}, {"4e-324", 5e-324},
		{"1e99999999999999999999", math.Inf(1)}, {"1e-99999999999999999999", 0},
		{"0.1", 0.1}, {"0.30000000000000004", 0.30000000000000004}, {"12.0", 12},
		{" 5 ", 5}, {"\t5\r\n", 5}, {"\v5\f", 5}, {"\u00a05\u3000", 5}, {"\u2028-1.5\u2029", -1.5},
		{"\u00855\u1680", 5}, {"\u20005\u200a", 5}, {"\u202f5\u205f", 5},
	}
	for _, tc := range tests {
		got, err := ParseFloat([]byte(tc.in))
		if err != nil || math.Float64bits(got) != math.Float64bits(tc.want) {
			t.Errorf("ParseFloat(%q) = %v (%#x), %v; want %v", tc.in, got, math.Float64bits(got), err, tc.want)
		}
	}
}

// TestParseFloatNaNBits pins Python's NaN bits: float("nan") has an all-zero
// payload and float("-nan") keeps the sign, unlike math.NaN().
func TestParseFloatNaNBits(t *testing.T) {
	for in, want := range map[string]uint64{
		"nan": pythonNaN, "NaN": pythonNaN, "+nan": pythonNaN, "-nan": pythonNegNaN, "-NAN": pythonNegNaN,
	} {
		got, err := ParseFloat([]byte(in))
		if err != nil || math.Float64bits(got) != want {
			t.Errorf("ParseFloat(%q) = %#x, %v; want %#x", in, math.Float64bits(got), err, want)
		}
	}
}

// TestParseFloatLong pins the rewrite of long numbers: strconv alone reads
// each of these wrongly (see longNumber).
func TestParseFloatLong(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{strings.Repeat("9", 1000) + "e-1000", 1},                            // strconv: 1e-200
		{strings.Repeat("9", 5000) + "e-5000", 1},                            // strconv: 0
		{"-" + strings.Repeat("9", 801) + ".5e-801", -1},                     // strconv: -0.1
		{"0." + strings.Repeat("0", 100000) + "9e100000", 0.9},               // strconv: 0 (go#42436)
		{"0." + strings.Repeat("0", 100000) + "9e100001", 9},                 // strconv: 0
		{strings.Repeat("1", 900) + "e-850", 1.1111111111111111e+49},         // strconv right: fast path
		{strings.Repeat("1_", 600) + "1e-550", 1.1111111111111111e+50},       // underscores skipped
		{"1." + strings.Repeat("0", 800) + "1e-308", 1e-308},                 // sticky digit, rounds down
		{"1" + strings.Repeat("0", 400) + "e-400", 1},                        // exactly 1 after zeros
		{"0." + strings.Repeat("0", 600) + "5e601", 5},                       // leading zeros only
		{strings.Repeat("0", 1000) + "." + strings.Repeat("0", 1000), 0},     // all zeros
		{strings.Repeat("1", 1000) + "e-1400", 0},                            // below half of 5e-324
		{strings.Repeat("1", 1000) + "e-1000", 0.1111111111111111},           // plain
		{"2.4703282292062327" + strings.Repeat("9", 2000) + "e-324", 5e-324}, // rounds up past half
	}
	for _, tc := range tests {
		got, err := ParseFloat([]byte(tc.in))
		if err != nil || math.Float64bits(got) != math.Float64bits(tc.want) {
			t.Errorf("ParseFloat(%s) = %v, %v; want %v", shorten([]byte(tc.in)), got, err, tc.want)
		}
	}
}

// shorten abbreviates a long input for a failure message.
func shorten(b []byte) string {
	if len(b) <= 80 {
		return string(b)
	}
	return fmt.Sprintf("%s...%s (%d bytes)", b[:40], b[len(b)-30:], len(b))
}

func TestParseFloatInvalid(t *testing.T) {
	tests := []string{
		"", " ", ".", "-.", "+", "-", "++5", "+-5", "--5", "e5", ".e5", "5.e", "1e", "1e+", "1e-",
		"1e5.5", "1e5e5", "1ee5", "1__0", "_1", "1_", "1_.5", "1._5", "1.5_", "._5", "_.5",
		"1_e5", "1e_5", "1e5_", "1e+_10", "+_1", "in_f", "inf_", "nan_", "infinit", "infinityy",
		"in", "infs", "nana", "snan", "nan(1)", ".inf", "1.inf", "inf.0",
		"0x10", "0X10", "0x1p3", "0b101", "0o17", "1p3", "1,5", "1 5", "5\x00", "\x005",
		"\x1c5", "5\x1f", // str.split() separates on these, but float() does not strip them
		"\u0665", "\uff15", "1\u0665", // Python accepts non-ASCII digits: documented difference
		"\u22125", "five", "1j", "1f", "\xff", "5\xff", "\xc2\xa0", "\xc2", "5\xc2",
	}
	for _, in := range tests {
		if got, err := ParseFloat([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseFloat(%q) = %v, %v; want ErrSyntax", in, got, err)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"0", 0, nil}, {"5", 5, nil}, {"+5", 5, nil}, {"-5", -5, nil}, {"-0", 0, nil},
		{"007", 7, nil}, {"0_7", 7, nil}, {"00", 0, nil}, {"1_000", 1000, nil},
		{"1503319740", 1503319740, nil}, {" 5\n", 5, nil}, {"\u00a0-5\u3000", -5, nil},
		{"9223372036854775807", math.MaxInt64, nil}, {"-9223372036854775808", math.MinInt64, nil},
		{"000000000000000000000000000009223372036854775807", math.MaxInt64, nil},
		{"9223372036854775808", 0, ErrRange}, {"-9223372036854775809", 0, ErrRange},
		{"18446744073709551616", 0, ErrRange}, {"99999999999999999999999", 0, ErrRange},
		{"", 0, ErrSyntax}, {" ", 0, ErrSyntax}, {"+", 0, ErrSyntax}, {"-", 0, ErrSyntax},
		{"5.0", 0, ErrSyntax}, {"1e3", 0, ErrSyntax}, {"1__0", 0, ErrSyntax}, {"_1", 0, ErrSyntax},
		{"1_", 0, ErrSyntax}, {"+_1", 0, ErrSyntax}, {"++1", 0, ErrSyntax}, {"0x10", 0, ErrSyntax},
		{"1 2", 0, ErrSyntax}, {"\x1c5", 0, ErrSyntax}, {"\u0665", 0, ErrSyntax}, {"inf", 0, ErrSyntax},
		{"99999999999999999999_", 0, ErrSyntax}, // bad syntax wins over range, as in Python
	}
	for _, tc := range tests {
		got, err := ParseInt([]byte(tc.in))
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestNumberGolden checks ParseFloat and ParseInt against what Python's
// float() and int() returned for every input of testdata/parse_golden.txt.
func TestNumberGolden(t *testing.T) {
	counts := map[string]int{}
	for _, row := range readGolden(t, "parse_golden.txt", "\t") {
		kind, in, want := row.fields[0], mustHex(t, row, row.fields[1]), row.fields[2]
		var got string
		switch kind {
		case "f":
			v, err := ParseFloat(in)
			got = fmt.Sprintf("%016x", math.Float64bits(v))
			if err != nil {
				got = "error"
			}
		case "i":
			v, err := ParseInt(in)
			got = strconv.FormatInt(v, 10)
			if errors.Is(err, ErrRange) {
				got = "range"
			} else if err != nil {
				got = "error"
			}
		default:
			continue
		}
		counts[kind]++
		if got != want {
			t.Errorf("line %d: %s(%q) = %s, want %s (python %s; %s)",
				row.line, kind, shorten(in), got, want, row.fields[3], row.fields[4])
		}
	}
	if counts["f"] < 1000 || counts["i"] < 1000 {
		t.Fatalf("golden file has too few number rows: %v", counts)
	}
}

func TestNumberAllocs(t *testing.T) {
	for _, in := range []string{"12.0", "-1_000.5e-3", "1e400", "1e-400", "nan", "123456789012345678901234567890.5"} {
		b := []byte(in)
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseFloat(b) }); n != 0 {
			t.Errorf("ParseFloat(%q) allocates %v times, want 0", in, n)
		}
	}
	for _, in := range []string{"1503319740", "-1_000", "99999999999999999999", "x"} {
		b := []byte(in)
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseInt(b) }); n != 0 {
			t.Errorf("ParseInt(%q) allocates %v times, want 0", in, n)
		}
	}
}
