package renderimage

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// FuzzParseColorList checks colorList parsing never panics and that what
// it accepts has one colour per comma-separated part.
func FuzzParseColorList(f *testing.F) {
	for _, s := range []string{"", "red", "#ff8800,blue", "ff,,", "#GGGGGG", "darkgrey, 00ff00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseColorList(s)
		if err != nil {
			if !errors.Is(err, ErrOptions) {
				t.Fatalf("ParseColorList(%q): error %v does not wrap ErrOptions", s, err)
			}
			return
		}
		if s != "" && len(cs) != strings.Count(s, ",")+1 {
			t.Fatalf("ParseColorList(%q) = %d colours", s, len(cs))
		}
	})
}

// FuzzRender draws series made of arbitrary float64s (NaN, ±Inf, huge and
// tiny values, irregular times) with arbitrary y ends: Render must return
// an image or an ErrOptions error, never panic.
func FuzzRender(f *testing.F) {
	f.Add([]byte{}, int64(0), int64(60), 0.0, 0.0, false)
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.Inf(1))), int64(0), int64(1), math.NaN(), 5.0, true)
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e308)), int64(-10), int64(10), -1e308, 1e308, false)
	f.Fuzz(func(t *testing.T, raw []byte, from, until int64, ymin, ymax float64, stacked bool) {
		var s Series
		s.Name = "fuzz"
		s.Step = 1 + (until-from)/int64(1+len(raw)/8)
		s.Start = from
		for len(raw) >= 8 {
			s.Values = append(s.Values, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
			raw = raw[8:]
		}
		o := Options{Width: 120, Height: 80, From: from, Until: until, YMin: ymin, YMax: ymax, Stacked: stacked}
		for _, f := range []Format{PNG, SVG} {
			if err := Render(io.Discard, f, o, []Series{s, s}); err != nil && !errors.Is(err, ErrOptions) {
				t.Fatalf("Render: %v", err)
			}
		}
	})
}
