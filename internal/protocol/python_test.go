package protocol

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pythonRepr prints repr(float) for each line of 16 hex digits on stdin.
const pythonRepr = `
import struct, sys
for line in sys.stdin:
    print(repr(struct.unpack("<d", struct.pack("<Q", int(line, 16)))[0]))
`

// pythonFloat prints the bits of float() of each hex-encoded input, or "error".
const pythonFloat = `
import struct, sys
for line in sys.stdin:
    try:
        v = float(bytes.fromhex(line.strip()).decode())
        print("%016x" % struct.unpack("<Q", struct.pack("<d", v))[0])
    except ValueError:
        print("error")
`

// runPython runs script with one input per line and returns its output
// lines, or skips the test when python3 is not installed: the committed
// golden files cover the same ground without it.
func runPython(t *testing.T, script string, inputs []string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts python3; skipped in -short mode")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("python3 answered %d lines for %d inputs", len(lines), len(inputs))
	}
	return lines
}

// newTestRand returns a generator with a fresh seed, logged so that a
// failure can be replayed by pinning the seed here.
func newTestRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x6d657472696373))
}

// randomFloat mixes raw bit patterns (mostly scientific), two-decimal values
// (what clients send) and log-uniform magnitudes around the layout switch.
func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(3) {
	case 0:
		return math.Float64frombits(r.Uint64())
	case 1:
		return math.Round((r.Float64()-0.5)*2e7) / 100
	}
	return math.Pow(10, r.Float64()*26-8) * float64(1-2*r.IntN(2))
}

func TestAppendFloatAgainstPython(t *testing.T) {
	r := newTestRand(t)
	values := make([]float64, 2000)
	inputs := make([]string, len(values))
	for i := range values {
		values[i] = randomFloat(r)
		inputs[i] = fmt.Sprintf("%016x", math.Float64bits(values[i]))
	}
	for i, want := range runPython(t, pythonRepr, inputs) {
		if got := string(AppendFloat(nil, values[i])); got != want {
			t.Errorf("AppendFloat(%s) = %q, python repr %q", inputs[i], got, want)
		}
	}
}

// randomNumberText builds float()-like text: mostly well-formed, with
// underscores, signs and exponents in random places to hit the edges, and
// some texts long enough for ParseFloat's rewrite of long numbers.
func randomNumberText(r *rand.Rand) string {
	const alphabet = "0123456789012345678901234567890123456789__..eE+-"
	switch r.IntN(8) {
	case 0, 1:
		return wellFormedDecimal(r)
	case 2:
		return longDecimal(r)
	}
	b := make([]byte, 1+r.IntN(12))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// wellFormedDecimal returns a well-formed decimal with a random exponent.
func wellFormedDecimal(r *rand.Rand) string {
	return fmt.Sprintf("%d.%de%d", r.Int64N(1e15), r.Int64N(1e15), r.IntN(700)-350)
}

// longDecimal returns 500 to 1500 random digits, maybe with a point, and an
// exponent that brings the value back near 1.
func longDecimal(r *rand.Rand) string {
	n := 500 + r.IntN(1000)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if r.IntN(2) == 0 {
		b[r.IntN(n)] = '.'
	}
	return fmt.Sprintf("%se%d", b, r.IntN(60)-n-30)
}

func TestParseFloatAgainstPython(t *testing.T) {
	r := newTestRand(t)
	texts := make([]string, 2000)
	inputs := make([]string, len(texts))
	for i := range texts {
		texts[i] = randomNumberText(r)
		inputs[i] = hex.EncodeToString([]byte(texts[i]))
	}
	for i, want := range runPython(t, pythonFloat, inputs) {
		v, err := ParseFloat([]byte(texts[i]))
		got := fmt.Sprintf("%016x", math.Float64bits(v))
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseFloat(%s) = %s, python float() %s", shorten([]byte(texts[i])), got, want)
		}
	}
}
