package graphite

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"unicode/utf8"

	"metricsd/internal/protocol"
)

// FuzzParseLine checks that any line either parses into a point that
// formats back into a line with the same meaning, or is refused with one of
// the known reasons; and that it never panics.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"palm.cpu 23.7 1150864247\n", "a 1 -1\n", "a 1 N\n", "a nan 1\n", "a 1 1.5e9\r\n",
		"a\xff 1 2\n", "a 1 2 3\n", " \t\n", "x 1_0.5 -1.5\n", "x 1 9223372036854775807\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var l Line
		err := ParseLine(line, &l)
		if err != nil {
			reasonIndex(ReasonOf(err)) // panics on a reason the metrics don't know
			return
		}
		if len(l.Path) == 0 || !utf8.Valid(l.Path) || bytes.ContainsAny(l.Path, " \t\r\n") {
			t.Fatalf("ParseLine(%q): bad path %q", line, l.Path)
		}
		if math.IsNaN(l.Value) {
			t.Fatalf("ParseLine(%q) accepted NaN", line)
		}
		if l.Now {
			return
		}
		again := protocol.AppendFloat(append(append([]byte(nil), l.Path...), ' '), l.Value)
		again = strconv.AppendInt(append(again, ' '), l.Timestamp, 10)
		var l2 Line
		if err := ParseLine(again, &l2); err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", again, line, err)
		}
		if !bytes.Equal(l2.Path, l.Path) || math.Float64bits(l2.Value) != math.Float64bits(l.Value) ||
			l2.Timestamp != l.Timestamp || l2.Now != (l.Timestamp == -1) {
			t.Fatalf("re-parse of %q = %+v, want %+v", again, l2, l)
		}
	})
}
