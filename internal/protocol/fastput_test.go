package protocol

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestParsePutFast pins which lines take the fast path: a line it declines
// is still parsed by the general parser, so only this test would notice
// the fast path silently doing nothing.
func TestParsePutFast(t *testing.T) {
	tests := []struct {
		line string
		take bool
		want Request
	}{
		{"put palm.cpu 23.45 1503319740\n", true, put("palm.cpu", 23.45, 1503319740)},
		{"put k 1 2", true, put("k", 1, 2)},
		{"put k 1 2\r\n", true, put("k", 1, 2)},
		{"put k 5. 2\n", true, put("k", 5, 2)},
		{"put k -0.0 -7\n", true, put("k", math.Copysign(0, -1), -7)},
		{"put k 007.50 0010\n", true, put("k", 7.5, 10)},
		{"put k 0.1 1\n", true, put("k", 0.1, 1)},
		{"put k 9007199254740992 1\n", true, put("k", 9007199254740992, 1)},
		{"put k 123456789012345678 999999999999999999\n", false, Request{}}, // mantissa past 2^53
		{"put k 9007199254740993 1\n", false, Request{}},                    // past 2^53: strconv rounds it
		{"put k 1 1234567890123456789\n", false, Request{}},                 // 19 digits: may overflow
		{"put k 0.0000000000000000001 1\n", false, Request{}},               // 20 digits
		{"put k .5 1\n", false, Request{}},
		{"put k +5 1\n", false, Request{}},
		{"put k 5 +1\n", false, Request{}},
		{"put k 1e3 1\n", false, Request{}},
		{"put k 1_0 1\n", false, Request{}},
		{"put k nan 1\n", false, Request{}},
		{"put  k 1 2\n", false, Request{}},
		{"put k 1  2\n", false, Request{}},
		{"put k 1 2 \n", false, Request{}},
		{"put k 1 2\t\n", false, Request{}},
		{"put k 1 2 3\n", false, Request{}},
		{"put k 1\n", false, Request{}},
		{"put k\t1 2\n", false, Request{}},
		{"put кл 1 2\n", false, Request{}},
		{"put k 1 2\n\n", false, Request{}},
		{"put k - 2\n", false, Request{}},
		{"put k 1 -\n", false, Request{}},
		{"get k\n", false, Request{}},
		{"putk 1 2\n", false, Request{}},
	}
	for _, tt := range tests {
		var req Request
		if got := parsePutFast([]byte(tt.line), &req); got != tt.take {
			t.Errorf("parsePutFast(%q) took=%v, want %v", tt.line, got, tt.take)
			continue
		}
		if !sameRequest(req, tt.want) {
			t.Errorf("parsePutFast(%q) = %+v, want %+v", tt.line, req, tt.want)
		}
	}
}

// TestParsePutFastValues checks the fast path's values against the
// general parser on many random decimals of every length it takes.
func TestParsePutFastValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		digits := 1 + r.IntN(fastMaxDigits)
		mant := strconv.FormatUint(r.Uint64()%uint64(math.Pow10(digits)), 10)
		frac := r.IntN(len(mant) + 1)
		text := mant[:len(mant)-frac] + "." + mant[len(mant)-frac:]
		if frac == len(mant) {
			text = "0" + text
		}
		checkFastAgainstGeneral(t, []byte("put k "+text+" 1\n"))
	}
}

// checkFastAgainstGeneral fails when the fast path accepts line with a
// result the general parser does not give.
func checkFastAgainstGeneral(t *testing.T, line []byte) {
	t.Helper()
	var fast, general Request
	if !parsePutFast(line, &fast) {
		return
	}
	if err := parseGeneral(line, &general); err != nil || !sameRequest(fast, general) {
		t.Fatalf("%q: fast path %+v (%#x), general %+v (%#x), %v", line,
			fast, math.Float64bits(fast.Value), general, math.Float64bits(general.Value), err)
	}
}

func FuzzParsePutFast(f *testing.F) {
	for _, line := range fuzzLines {
		f.Add([]byte(line))
	}
	f.Add([]byte("put palm.cpu 23.45 1503319740\n"))
	f.Add([]byte("put k 9007199254740992.5 -1\r\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkFastAgainstGeneral(t, line)
	})
}
