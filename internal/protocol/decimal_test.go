package protocol

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAppendDecimal(t *testing.T) {
	tests := []struct {
		m    int64
		exp  int
		want string
	}{
		{0, 0, "0.0"}, {0, -5, "0.0"}, {0, 30, "0.0"},
		{1, 0, "1.0"}, {10, 0, "10.0"}, {1, 1, "10.0"}, {-15, -1, "-1.5"},
		{1234, -2, "12.34"}, {1230, -2, "12.3"}, {1, -4, "0.0001"}, {12, -5, "0.00012"},
		{1, -5, "1e-05"}, {15, -6, "1.5e-05"}, {-1, -5, "-1e-05"}, {1, -100, "1e-100"},
		{42, 5, "4200000.0"}, {1, 15, "1000000000000000.0"}, {1, 16, "1e+16"}, {15, 15, "1.5e+16"},
		{12345678901234568, 1, "1.2345678901234568e+17"}, {1503319740, 0, "1503319740.0"},
		{math.MaxInt64, 0, "9.223372036854775807e+18"},
		{math.MinInt64, 0, "-9.223372036854775808e+18"},
	}
	for _, tt := range tests {
		if got := string(AppendDecimal(nil, tt.m, tt.exp)); got != tt.want {
			t.Errorf("AppendDecimal(%d, %d) = %q, want %q", tt.m, tt.exp, got, tt.want)
		}
	}
	if got := string(AppendDecimal([]byte("x="), 5, -1)); got != "x=0.5" {
		t.Errorf("AppendDecimal does not append: %q", got)
	}
}

func TestShortDecimal(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables: Go would fold the constant sum to 0.3 exactly
	tests := []struct {
		v   float64
		m   int64
		exp int
		ok  bool
	}{
		{0, 0, 0, true}, {math.Copysign(0, -1), 0, 0, false},
		{12.34, 1234, -2, true}, {-0.29, -29, -2, true}, {100, 100, 0, true},
		{1503319740, 1503319740, 0, true}, {1e-22, 1, -22, true}, {999999999999999, 999999999999999, 0, true},
		{1e15, 0, 0, false}, {tenth + fifth, 0, 0, false}, {1.0 / 3, 0, 0, false}, {1e-23, 0, 0, false},
		{123456789.0123456, 0, 0, false}, // 16 digits: left to strconv
		{math.Inf(1), 0, 0, false}, {math.NaN(), 0, 0, false}, {5e-324, 0, 0, false},
	}
	for _, tt := range tests {
		m, exp, ok := ShortDecimal(tt.v)
		if m != tt.m || exp != tt.exp || ok != tt.ok {
			t.Errorf("ShortDecimal(%v) = %d, %d, %v; want %d, %d, %v", tt.v, m, exp, ok, tt.m, tt.exp, tt.ok)
		}
	}
}

// checkShortDecimal checks that, when ShortDecimal takes v, AppendDecimal
// prints what AppendFloat prints; it reports whether ShortDecimal took it.
func checkShortDecimal(t testing.TB, v float64) bool {
	m, exp, ok := ShortDecimal(v)
	if !ok {
		return false
	}
	if got, want := string(AppendDecimal(nil, m, exp)), string(AppendFloat(nil, v)); got != want {
		t.Fatalf("v = %v (%#x): AppendDecimal(%d, %d) = %q, AppendFloat = %q", v, math.Float64bits(v), m, exp, got, want)
	}
	return true
}

// TestShortDecimalMatchesAppendFloat compares the two paths on two million
// seeded random values of every shape: the decimals metrics carry (which
// must all take the fast path), decimals of up to 17 digits at every scale,
// floats near them, and arbitrary bit patterns.
func TestShortDecimalMatchesAppendFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	taken := 0
	const n = 2_000_000
	for i := range n {
		var v float64
		switch i % 5 {
		case 0: // must be taken: what the workloads send
			v = float64(r.IntN(10000)) / 100
			if !checkShortDecimal(t, v) {
				t.Fatalf("ShortDecimal(%v) did not take a two-decimal value", v)
			}
			continue
		case 1:
			v = float64(r.Int64N(1e15)>>r.IntN(50)) / math.Pow10(r.IntN(24))
		case 2:
			digits := r.IntN(17) + 1
			v = float64(r.Int64N(int64(math.Pow10(digits)))) * math.Pow10(r.IntN(40)-30)
		case 3:
			v = math.Nextafter(float64(r.IntN(100000))/1000, math.Inf(r.IntN(2)*2-1))
		case 4:
			v = math.Float64frombits(r.Uint64())
		}
		if checkShortDecimal(t, v) {
			taken++
		}
	}
	t.Logf("ShortDecimal took %d of %d values", taken+n/5, n)
}

// TestShortDecimalGolden runs every float64 of Python's repr golden file
// through the fast path where it applies.
func TestShortDecimalGolden(t *testing.T) {
	for _, row := range readGolden(t, "repr_golden.txt", " ") {
		bits, err := strconv.ParseUint(row.fields[0], 16, 64)
		if err != nil {
			t.Fatalf("line %d: %v", row.line, err)
		}
		v := math.Float64frombits(bits)
		if m, exp, ok := ShortDecimal(v); ok {
			if got := string(AppendDecimal(nil, m, exp)); got != row.fields[1] {
				t.Errorf("line %d: AppendDecimal(ShortDecimal(%v)) = %q, Python says %q", row.line, v, got, row.fields[1])
			}
		}
	}
}

func TestDecimalAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		m, exp, _ := ShortDecimal(12.34)
		buf = AppendDecimal(buf[:0], m, exp)
	})
	if allocs != 0 {
		t.Fatalf("ShortDecimal+AppendDecimal allocate %v times, want 0", allocs)
	}
}

// FuzzShortDecimal checks the fast path against AppendFloat for any bit
// pattern, and that AppendDecimal's text of any decimal reads back as the
// same number as its plain "<m>e<exp>" form.
func FuzzShortDecimal(f *testing.F) {
	f.Add(math.Float64bits(12.34), int64(1234), int8(-2))
	f.Add(math.Float64bits(0.1), int64(-5), int8(20))
	f.Add(math.Float64bits(1e-22), int64(math.MinInt64), int8(-128))
	f.Fuzz(func(t *testing.T, bits uint64, m int64, exp int8) {
		checkShortDecimal(t, math.Float64frombits(bits))
		text := AppendDecimal(nil, m, int(exp))
		got, err1 := strconv.ParseFloat(string(text), 64)
		want, err2 := strconv.ParseFloat(strconv.FormatInt(m, 10)+"e"+strconv.Itoa(int(exp)), 64)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && got != want) {
			t.Fatalf("AppendDecimal(%d, %d) = %q reads as %v (%v), want %v (%v)", m, exp, text, got, err1, want, err2)
		}
	})
}

func BenchmarkAppendDecimal(b *testing.B) {
	values := twoDecimalValues(4096)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v := values[i&4095]
		if m, exp, ok := ShortDecimal(v); ok {
			buf = AppendDecimal(buf[:0], m, exp)
		} else {
			buf = AppendFloat(buf[:0], v)
		}
	}
}
