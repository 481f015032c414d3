package protocol

import (
	"math"
	"math/rand/v2"
	"testing"
)

func benchmarkParse(b *testing.B, line string) { benchmarkParseWith(b, Parse, line) }

func benchmarkParseWith(b *testing.B, parse func([]byte, *Request) error, line string) {
	buf := []byte(line)
	var req Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parse(buf, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePut(b *testing.B) { benchmarkParse(b, "put palm.cpu 23.45 1503319740\n") }

// BenchmarkParsePutGeneral is BenchmarkParsePut without the put fast path.
func BenchmarkParsePutGeneral(b *testing.B) {
	benchmarkParseWith(b, parseGeneral, "put palm.cpu 23.45 1503319740\n")
}
func BenchmarkParseGet(b *testing.B) { benchmarkParse(b, "get palm.cpu\n") }

// BenchmarkParsePutUnicode takes the slow path: a non-ASCII key and
// separator make Split decode runes.
func BenchmarkParsePutUnicode(b *testing.B) {
	benchmarkParse(b, "put\u00a0датчик.cpu 23.45 1503319740\n")
}

func BenchmarkParseWrongCommand(b *testing.B) {
	buf := []byte("got palm.cpu\n")
	var req Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if Parse(buf, &req) == nil {
			b.Fatal("accepted a wrong command")
		}
	}
}

// twoDecimalValues are what clients typically send: gauges with cents.
func twoDecimalValues(n int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.Round((r.Float64()-0.5)*2e7) / 100
	}
	return vals
}

func BenchmarkAppendFloat(b *testing.B) {
	vals := twoDecimalValues(1024)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = AppendFloat(buf[:0], vals[i&1023])
		i++
	}
}

func BenchmarkAppendPoint(b *testing.B) {
	benchmarkAppendPoint(b, func(dst, key []byte, v float64, ts int64) []byte { return AppendPoint(dst, key, v, ts) })
}

// BenchmarkPointFormatter is BenchmarkAppendPoint as a get's answer
// formats: one formatter, timestamps a second apart.
func BenchmarkPointFormatter(b *testing.B) {
	var f PointFormatter
	benchmarkAppendPoint(b, f.Append)
}

func benchmarkAppendPoint(b *testing.B, appendPoint func(dst, key []byte, v float64, ts int64) []byte) {
	vals := twoDecimalValues(1024)
	key := []byte("palm.cpu")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = appendPoint(buf[:0], key, vals[i&1023], 1503319740+int64(i))
		i++
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParseFloat(b *testing.B) {
	tok := []byte("23.45")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFloat(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInt(b *testing.B) {
	tok := []byte("1503319740")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInt(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplit(b *testing.B) {
	line := []byte("put palm.cpu 23.45 1503319740\n")
	var dst [maxTokens][]byte
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if n, _ := Split(line, dst[:]); n != 4 {
			b.Fatal(n)
		}
	}
}
