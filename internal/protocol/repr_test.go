package protocol

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

func TestAppendFloat(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables: Go would fold the constant sum to 0.3 exactly
	tests := []struct {
		in   float64
		want string
	}{
		{10, "10.0"}, {12, "12.0"}, {0.25, "0.25"}, {4200000, "4200000.0"}, {1, "1.0"},
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {-1.5, "-1.5"},
		{1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"}, {1234567890123456.8, "1234567890123456.8"},
		{1.2345678901234568e17, "1.2345678901234568e+17"}, {123456789012345678, "1.2345678901234568e+17"},
		{1e-5, "1e-05"}, {-1e-5, "-1e-05"}, {0.0001, "0.0001"}, {0.00012, "0.00012"},
		{1.5e-5, "1.5e-05"}, {1e-10, "1e-10"}, {1e100, "1e+100"}, {1e-100, "1e-100"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		{tenth + fifth, "0.30000000000000004"}, {1.0 / 3, "0.3333333333333333"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"},
		{math.Float64frombits(pythonNegNaN), "nan"}, {math.Float64frombits(0x7ff0000000000001), "nan"},
		{1503319740, "1503319740.0"}, {9007199254740993, "9007199254740992.0"},
	}
	for _, tc := range tests {
		if got := string(AppendFloat(nil, tc.in)); got != tc.want {
			t.Errorf("AppendFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(AppendFloat([]byte("x="), 1)); got != "x=1.0" {
		t.Errorf("AppendFloat does not append: %q", got)
	}
}

// TestAppendFloatFromParse runs the spec's examples through both
// directions: what a client sends, what it gets back.
func TestAppendFloatFromParse(t *testing.T) {
	for in, want := range map[string]string{
		"10": "10.0", "1e16": "1e+16", "4200000": "4200000.0", "1e-5": "1e-05", "-0": "-0.0",
		"nan": "nan", "-nan": "nan", "1e400": "inf", "-1e400": "-inf", "0.0001": "0.0001",
		"1_000.5": "1000.5", "5.": "5.0", ".5": "0.5", "1e-400": "0.0", "1234567890123456.8": "1234567890123456.8",
	} {
		v, err := ParseFloat([]byte(in))
		if got := string(AppendFloat(nil, v)); err != nil || got != want {
			t.Errorf("repr(float(%q)) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestAppendFloatGolden checks AppendFloat against Python's repr() of every
// float64 in testdata/repr_golden.txt.
func TestAppendFloatGolden(t *testing.T) {
	var buf []byte
	for _, row := range readGolden(t, "repr_golden.txt", " ") {
		if len(row.fields) != 2 {
			t.Fatalf("line %d: want 2 fields, got %q", row.line, row.fields)
		}
		bits, err := strconv.ParseUint(row.fields[0], 16, 64)
		if err != nil {
			t.Fatalf("line %d: %v", row.line, err)
		}
		buf = AppendFloat(buf[:0], math.Float64frombits(bits))
		if string(buf) != row.fields[1] {
			t.Errorf("line %d: AppendFloat(%#016x) = %q, want %q", row.line, bits, buf, row.fields[1])
		}
	}
}

var (
	reprFixed      = regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]+$`)
	reprScientific = regexp.MustCompile(`^-?[1-9](\.[0-9]*[1-9])?e[+-][0-9]{2,3}$`)
)

// checkReprShape checks the layout rules of repr() on out, the output for v,
// independently of the digits: fixed notation exactly when the decimal
// exponent is in [-4, 16), and output that reads back as v.
func checkReprShape(t *testing.T, v float64, out string) {
	t.Helper()
	switch {
	case math.IsNaN(v):
		if out != "nan" {
			t.Fatalf("AppendFloat(NaN) = %q", out)
		}
		return
	case math.IsInf(v, 0):
		if out != "inf" && out != "-inf" {
			t.Fatalf("AppendFloat(%v) = %q", v, out)
		}
		return
	}
	back, err := strconv.ParseFloat(out, 64)
	if err != nil || math.Float64bits(back) != math.Float64bits(v) {
		t.Fatalf("AppendFloat(%#x) = %q, reads back as %#x, %v", math.Float64bits(v), out, math.Float64bits(back), err)
	}
	abs := math.Abs(v)
	fixed := abs == 0 || (abs >= 1e-4 && abs < 1e16)
	if fixed && !reprFixed.MatchString(out) || !fixed && !reprScientific.MatchString(out) {
		t.Fatalf("AppendFloat(%v) = %q: wrong layout (fixed=%v)", v, out, fixed)
	}
}

func TestAppendFloatShape(t *testing.T) {
	for _, v := range []float64{1e-4, math.Nextafter(1e-4, 0), 1e16, math.Nextafter(1e16, 0), 0, 5e-324, 1, -123.456} {
		checkReprShape(t, v, string(AppendFloat(nil, v)))
	}
}

func TestAppendPoint(t *testing.T) {
	tests := []struct {
		key   string
		value float64
		ts    int64
		want  string
	}{
		{"test_key", 13, 1503319739, "test_key 13.0 1503319739\n"},
		{"another_key", 10, 1503319739, "another_key 10.0 1503319739\n"},
		{"k", 1e16, -5, "k 1e+16 -5\n"},
		{"ключ", math.NaN(), 0, "ключ nan 0\n"},
		{"k", -0.5, math.MinInt64, "k -0.5 -9223372036854775808\n"},
	}
	for _, tc := range tests {
		if got := string(AppendPoint(nil, []byte(tc.key), tc.value, tc.ts)); got != tc.want {
			t.Errorf("AppendPoint(%q, %v, %d) = %q, want %q", tc.key, tc.value, tc.ts, got, tc.want)
		}
	}
}

func TestReplies(t *testing.T) {
	if ReplyOK != ReplyOKHeader+ReplyEnd {
		t.Errorf("an empty get (%q) must read like a put's ok (%q)", ReplyOKHeader+ReplyEnd, ReplyOK)
	}
	if want := "error\n" + ErrWrongCommand.Error() + "\n\n"; ReplyWrongCommand != want {
		t.Errorf("ReplyWrongCommand = %q, want %q", ReplyWrongCommand, want)
	}
	if got := string(AppendError(nil, "wrong command")); got != ReplyWrongCommand {
		t.Errorf("AppendError(wrong command) = %q, want %q", got, ReplyWrongCommand)
	}
	tests := map[string]string{
		"storage limit reached": "error\nstorage limit reached\n\n",
		"disk\nfailure\n":       "error\ndisk failure \n\n",
		"":                      "error\nserver error\n\n",
		"\n":                    "error\n \n\n",
	}
	for msg, want := range tests {
		if got := string(AppendError([]byte("ok\n\n"), msg)); got != "ok\n\n"+want {
			t.Errorf("AppendError(%q) = %q, want %q", msg, got, "ok\n\n"+want)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 128)
	key := []byte("some.metric.key")
	for _, v := range []float64{12.5, 1e16, 1e-5, math.Copysign(0, -1), math.NaN(), 1.2345678901234568e+17, 5e-324} {
		if n := testing.AllocsPerRun(100, func() { buf = AppendFloat(buf[:0], v) }); n != 0 {
			t.Errorf("AppendFloat(%v) allocates %v times, want 0", v, n)
		}
		if n := testing.AllocsPerRun(100, func() { buf = AppendPoint(buf[:0], key, v, 1503319740) }); n != 0 {
			t.Errorf("AppendPoint(%v) allocates %v times, want 0", v, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendError(buf[:0], "disk failure") }); n != 0 {
		t.Errorf("AppendError allocates %v times, want 0", n)
	}
}

// TestPointFormatter runs sequences of timestamps through one formatter:
// every line must be AppendPoint's.
func TestPointFormatter(t *testing.T) {
	tests := []struct {
		name string
		ts   []int64
	}{
		{"step 1 across carries", []int64{1503319738, 1503319739, 1503319740, 1503319741, 1503319799, 1503319800}},
		{"step 10 and 60", []int64{0, 10, 20, 80, 140, 999, 1000, 1060}},
		{"gaining digits", []int64{8, 9, 10, 99, 100, 999999, 1000000}},
		{"same twice", []int64{5, 5, 5}},
		{"backwards", []int64{100, 99, 50, 49}},
		{"negative", []int64{-11, -10, -1, 0, 1}},
		{"huge steps", []int64{1, 1_000_002, 1 << 62, math.MaxInt64, math.MinInt64, 0}},
		{"past the step limit", []int64{1, maxTimestampStep + 1, 2*maxTimestampStep + 2, 2*maxTimestampStep + 3}},
	}
	key := []byte("k")
	for _, tt := range tests {
		var f PointFormatter
		for _, ts := range tt.ts {
			if got, want := string(f.Append(nil, key, 1.5, ts)), string(AppendPoint(nil, key, 1.5, ts)); got != want {
				t.Errorf("%s: Append(%d) = %q, want %q", tt.name, ts, got, want)
			}
		}
	}
}

func FuzzPointFormatter(f *testing.F) {
	f.Add(int64(1503319740), uint16(1), uint8(10))
	f.Add(int64(999), uint16(1), uint8(3))
	f.Add(int64(-5), uint16(7), uint8(4))
	f.Fuzz(func(t *testing.T, start int64, step uint16, n uint8) {
		var pf PointFormatter
		ts := start
		for range n {
			want := strconv.AppendInt(nil, ts, 10)
			if got := pf.appendTimestamp(nil, ts); string(got) != string(want) {
				t.Fatalf("timestamp %d formatted %q, want %q", ts, got, want)
			}
			if ts > math.MaxInt64-int64(step) {
				return
			}
			ts += int64(step)
		}
	})
}
