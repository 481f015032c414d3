package chunkenc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sameBits reports whether two runs hold the same timestamps and the same
// value bits (so -0.0 differs from 0.0 and NaN payloads count).
func sameBits(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Timestamp != b[i].Timestamp || math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) {
			return false
		}
	}
	return true
}

// firstDiff describes where two runs first differ, for failure messages.
func firstDiff(got, want []Point) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d points, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Timestamp != w.Timestamp || math.Float64bits(g.Value) != math.Float64bits(w.Value) {
			return fmt.Sprintf("point %d = (%d, %v/%#x), want (%d, %v/%#x)", i,
				g.Timestamp, g.Value, math.Float64bits(g.Value), w.Timestamp, w.Value, math.Float64bits(w.Value))
		}
	}
	return "no difference"
}

// encodeStream builds a stream chunk of pts with an Appender.
func encodeStream(t testing.TB, pts []Point) []byte {
	t.Helper()
	var a Appender
	for _, p := range pts {
		if err := a.Append(p.Timestamp, p.Value); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if a.Len() != len(pts) {
		t.Fatalf("Appender.Len = %d, want %d", a.Len(), len(pts))
	}
	return a.Bytes()
}

// checkRoundTrip encodes pts both ways and checks that each decodes to
// the same bits with the right header; it returns the block chunk.
func checkRoundTrip(t testing.TB, pts []Point) []byte {
	t.Helper()
	block, err := Append(nil, pts)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	chunks := map[string][]byte{"block": block}
	if len(pts) > 0 {
		chunks["stream"] = encodeStream(t, pts)
	}
	for name, c := range chunks {
		if _, n, err := Header(c); err != nil || n != len(pts) {
			t.Fatalf("%s: Header = %d, %v; want %d points", name, n, err, len(pts))
		}
		got, err := Decode(nil, c)
		if err != nil {
			t.Fatalf("%s: Decode: %v (chunk %x)", name, err, c)
		}
		if !sameBits(got, pts) {
			t.Fatalf("%s: round trip: %s", name, firstDiff(got, pts))
		}
	}
	return block
}

// series builds n points at ts0, ts0+step, ... with values from value(i).
func series(n int, ts0, step int64, value func(i int) float64) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Timestamp: ts0 + int64(i)*step, Value: value(i)}
	}
	return pts
}

func TestRoundTrip(t *testing.T) {
	nanPayload := math.Float64frombits(0x7ff0000000000001)
	negNaN := math.Float64frombits(0xfff8000000000123)
	negZero := math.Copysign(0, -1)
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		pts  []Point
		enc  Encoding // the block encoding expected; 0 = don't care
	}{
		{"empty", nil, EncBits},
		{"one point", []Point{{1503319740, 12}}, EncDecimal},
		{"two points", []Point{{1, 12.5}, {2, 13}}, EncDecimal},
		{"counter", series(300, 1503319740, 10, func(i int) float64 { return float64(5 * i) }), EncDecimal},
		{"random two decimals", series(256, 1700000000, 1, func(int) float64 { return float64(r.IntN(10000)) / 100 }), EncDecimal},
		{"exponents grow", []Point{{1, 1}, {2, 0.5}, {3, 0.25}, {4, 0.125}, {5, 7}}, EncDecimal},
		{"smallest exponent", []Point{{1, 1e-22}, {2, 3e-22}}, EncDecimal},
		{"large round numbers", []Point{{1, 3e20}, {2, 1e19}, {3, 5e18}}, EncDecimal},
		{"common exponent past 2^53", []Point{{1, 1e22}, {2, 1e16}, {3, 4200000}, {4, 1e23}}, EncBits},
		{"2^53 boundary", []Point{{1, 1 << 53}, {2, -(1 << 53)}, {3, 1<<53 + 2}}, EncBits},
		{"zeros", []Point{{1, 0}, {2, 0}, {3, negZero}, {4, 0}}, EncBits},
		{"negative zero alone", []Point{{1, negZero}}, EncBits},
		{"infinities and nan", []Point{{1, math.Inf(1)}, {2, math.Inf(-1)}, {3, math.NaN()}}, EncBits},
		{"nan payloads", []Point{{1, nanPayload}, {2, negNaN}, {3, 1}}, EncBits},
		{"subnormals", []Point{{1, math.SmallestNonzeroFloat64}, {2, 2.5e-320}, {3, -5e-324}}, EncBits},
		{"extremes", []Point{{1, math.MaxFloat64}, {2, -math.MaxFloat64}, {3, 1e300}, {4, 1e-300}}, EncBits},
		{"not short decimals", []Point{{1, 0.30000000000000004}, {2, 0.1}, {3, math.Pi}}, EncBits},
		{"sixteen digits", []Point{{1, 1.0 / 3}, {2, 0.1}}, EncDecimal},
		{"mixed magnitudes overflow the common exponent", []Point{{1, 1e20}, {2, 0.5}}, EncBits},
		{"timestamp extremes", []Point{{math.MinInt64, 1}, {math.MaxInt64, 2}, {math.MinInt64, 3}, {0, 4}, {-1, 5}}, EncDecimal},
		{"timestamps descending and repeated", []Point{{5, 1}, {5, 2}, {3, 3}, {9, 4}, {-7, 5}}, EncDecimal},
		{"random bit patterns", series(200, 0, 1, func(int) float64 { return math.Float64frombits(r.Uint64()) }), EncBits},
		{"random timestamps", []Point{{r.Int64(), 1}, {r.Int64(), 2}, {-r.Int64(), 3}, {r.Int64(), 4}}, EncDecimal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block := checkRoundTrip(t, tt.pts)
			if enc, _, _ := Header(block); tt.enc != 0 && enc != tt.enc {
				t.Errorf("block encoding %s, want %s", enc, tt.enc)
			}
		})
	}
}

// TestRoundTripRandom round-trips many seeded random runs of every shape
// the store meets, mixed within a run.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := r.IntN(600)
		pts := make([]Point, n)
		ts := r.Int64() >> r.IntN(64)
		for i := range pts {
			ts += randomStep(r)
			pts[i] = Point{Timestamp: ts, Value: randomValue(r)}
		}
		checkRoundTrip(t, pts)
	}
}

// randomStep picks a timestamp step: mostly regular, sometimes jittered,
// backwards or huge.
func randomStep(r *rand.Rand) int64 {
	switch r.IntN(10) {
	case 0:
		return r.Int64N(2000) - 1000
	case 1:
		return int64(r.Uint64()) // wraps over the whole range
	default:
		return 10
	}
}

// randomValue picks a value from the shapes metrics take, and a few nasty
// ones.
func randomValue(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return float64(r.IntN(10000)) / 100
	case 1:
		return float64(r.Int64N(1e12)) / math.Pow10(r.IntN(23))
	case 2:
		return math.Float64frombits(r.Uint64())
	case 3:
		return []float64{0, math.Copysign(0, -1), math.Inf(1), math.NaN(), 1 << 53, 1e22, 0.30000000000000004}[r.IntN(7)]
	case 4:
		return r.NormFloat64() * 1e6
	default:
		return float64(r.IntN(3))
	}
}

// TestGoldenBytes pins the byte format: chunks written by this version
// must stay readable, so a change here is a format change (see doc.go).
func TestGoldenBytes(t *testing.T) {
	pts := []Point{{1503319740, 12.5}, {1503319750, 13}, {1503319760, 13.25}}
	tests := []struct {
		name  string
		chunk func() []byte
		hex   string
	}{
		{"decimal", func() []byte { b, _ := Append(nil, pts); return b }, "010300" + "01f8dad6990b1400" + "fe" + "02c413643100"},
		{"stream", func() []byte { return encodeStream(t, pts) }, "030300" + "bcd69a5900000000bf6a7d290cd18fda39"},
		{"bits", func() []byte { b, _ := Append(nil, []Point{{1, math.NaN()}}); return b }, "020100" + "0102" + "0182808080808080f8ff01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(tt.chunk())
			if got != tt.hex {
				t.Fatalf("chunk = %s, want %s", got, tt.hex)
			}
			want := pts
			if tt.name == "bits" {
				want = []Point{{1, math.NaN()}}
			}
			raw, _ := hex.DecodeString(tt.hex)
			dec, err := Decode(nil, raw)
			if err != nil || !sameBits(dec, want) {
				t.Fatalf("Decode(golden) = %v, %v; want %v", dec, err, want)
			}
		})
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	good, err := Append(nil, []Point{{1, 1.5}, {2, 2.5}, {4, 7.25}})
	if err != nil {
		t.Fatal(err)
	}
	stream := encodeStream(t, []Point{{1, 1.5}, {2, 2.5}, {4, 7.25}})
	mutate := func(c []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), c...)) }
	tests := []struct {
		name  string
		chunk []byte
	}{
		{"nil", nil},
		{"short header", []byte{1, 0}},
		{"unknown encoding", []byte{9, 0, 0}},
		{"zero encoding", []byte{0, 0, 0}},
		{"empty chunk with a body", []byte{byte(EncBits), 0, 0, 0}},
		{"truncated block", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"count too big", mutate(good, func(c []byte) []byte { c[1] = 200; return c })},
		{"bad transform", mutate(good, func(c []byte) []byte { c[3] = 7; return c })},
		{"width above 64", []byte{byte(EncBits), 1, 0, 0, 0, 65}},
		{"exponent out of range", []byte{byte(EncDecimal), 1, 0, 1, 2, 23, 1, 2}},
		{"truncated stream", stream[:len(stream)-1]},
		{"stream with a trailing byte", append(append([]byte(nil), stream...), 0)},
		{"stream exponent not decreasing", []byte{byte(EncStream), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3f, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []Point{{7, 7}}
			got, err := Decode(dst, tt.chunk)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, %v; want ErrCorrupt", got, err)
			}
			if len(got) != 1 {
				t.Fatalf("Decode changed dst's length to %d on error", len(got))
			}
		})
	}
}

func TestTooManyPoints(t *testing.T) {
	pts := make([]Point, MaxPoints+1)
	if _, err := Append(nil, pts); !errors.Is(err, ErrTooManyPoints) {
		t.Fatalf("Append(%d points) = %v, want ErrTooManyPoints", len(pts), err)
	}
	full := checkRoundTrip(t, pts[:MaxPoints])
	if len(full) > 20 {
		t.Errorf("%d identical points take %d bytes, want a handful", MaxPoints, len(full))
	}
	var a Appender
	for i := range MaxPoints {
		if err := a.Append(int64(i), 0); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if err := a.Append(MaxPoints, 0); !errors.Is(err, ErrTooManyPoints) {
		t.Fatalf("Append past MaxPoints = %v, want ErrTooManyPoints", err)
	}
	if _, _, err := a.Put(-1, 0, nil); !errors.Is(err, ErrTooManyPoints) {
		t.Fatalf("Put inserting past MaxPoints = %v, want ErrTooManyPoints", err)
	}
}

func TestEncoderReuseAllocatesNothing(t *testing.T) {
	pts := series(256, 1700000000, 1, func(i int) float64 { return float64(i%977) / 100 })
	var e Encoder
	buf, _ := e.Append(nil, pts)
	decoded := make([]Point, 0, len(pts))
	allocs := testing.AllocsPerRun(50, func() {
		buf, _ = e.Append(buf[:0], pts)
		decoded, _ = Decode(decoded[:0], buf)
	})
	if allocs != 0 {
		t.Fatalf("encode+decode with reused buffers allocates %v times, want 0", allocs)
	}
}
