package renderimage

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// opts returns Options over [0, 3600] with automatic y ends.
func opts(w, h int) Options {
	return Options{Width: w, Height: h, From: 0, Until: 3600, YMin: math.NaN(), YMax: math.NaN()}
}

// wave is a series every 10 s over [0, 3600] with a gap in [1800, 2400).
func wave(name string, offset float64) Series {
	s := Series{Name: name, Start: 0, Step: 10}
	for i := range 361 {
		v := offset + 10*math.Sin(float64(i)/20)
		if i*10 >= 1800 && i*10 < 2400 {
			v = math.NaN()
		}
		s.Values = append(s.Values, v)
	}
	return s
}

func renderPNG(t *testing.T, o Options, series ...Series) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, PNG, o, series); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	return img
}

// countColor counts the pixels within a small distance of c.
func countColor(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	for px, count := range histogram(img) {
		d := math.Abs(float64(px[0])-float64(r0>>8)) + math.Abs(float64(px[1])-float64(g0>>8)) + math.Abs(float64(px[2])-float64(b0>>8))
		if d < 24 {
			n += count
		}
	}
	return n
}

// histogram counts the pixels of each colour of img, in one pass (an
// image has a few hundred colours: the palette, antialiasing blends,
// text).
func histogram(img image.Image) map[[3]uint8]int {
	h := map[[3]uint8]int{}
	b := img.Bounds()
	if rgba, ok := img.(*image.RGBA); ok {
		for i := 0; i+3 < len(rgba.Pix); i += 4 {
			h[[3]uint8{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]}]++
		}
		return h
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			h[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8)}]++
		}
	}
	return h
}

func TestPNGSizeAndSeries(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		series  int
		stacked bool
	}{
		{"default size one series", Options{From: 0, Until: 3600, YMin: math.NaN(), YMax: math.NaN()}, 1, false},
		{"three series", opts(500, 300), 3, false},
		{"stacked", func() Options { o := opts(640, 300); o.Stacked = true; return o }(), 3, true},
		{"twenty series", opts(400, 250), 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var series []Series
			for k := range tt.series {
				series = append(series, wave(fmt.Sprintf("s%d", k), float64(30*k)))
			}
			img := renderPNG(t, tt.o, series...)
			w, h := tt.o.Width, tt.o.Height
			if w == 0 {
				w, h = DefaultWidth, DefaultHeight
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
			}
			for k := range series {
				min := 20
				if tt.stacked {
					min = 200 // a filled area, not a line
				}
				if n := countColor(img, PaletteColor(k)); n < min {
					t.Errorf("series %d: %d pixels of its colour %v, want at least %d", k, n, PaletteColor(k), min)
				}
			}
		})
	}
}

// TestPNGColorList checks colorList overrides the palette.
func TestPNGColorList(t *testing.T) {
	cs, err := ParseColorList("#00ff00,ff00ff")
	if err != nil {
		t.Fatal(err)
	}
	o := opts(400, 200)
	o.Colors = cs
	img := renderPNG(t, o, wave("a", 0), wave("b", 50), wave("c", 100))
	for _, c := range []color.Color{cs[0], cs[1], PaletteColor(2)} {
		if n := countColor(img, c); n < 20 {
			t.Errorf("%d pixels of %v, want a line", n, c)
		}
	}
	if n := countColor(img, PaletteColor(0)); n != 0 {
		t.Errorf("%d pixels of the palette's first colour, which colorList replaced", n)
	}
}

// svgDoc is what the tests read of an SVG.
type svgDoc struct {
	Width  string `xml:"width,attr"`
	Height string `xml:"height,attr"`
	Paths  []struct {
		D     string `xml:"d,attr"`
		Style string `xml:"style,attr"`
	} `xml:"g>path"`
	Texts []string `xml:"g>text"`
}

func renderSVG(t *testing.T, o Options, series ...Series) svgDoc {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, SVG, o, series); err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not XML: %v", err)
	}
	return doc
}

// strokes counts the paths stroked in colour c (lines).
func (d svgDoc) strokes(c color.Color) int { return d.styled("stroke", c) }

// fills counts the paths filled in colour c (legend squares, areas).
func (d svgDoc) fills(c color.Color) int { return d.styled("fill", c) }

func (d svgDoc) styled(prop string, c color.Color) int {
	r, g, b, _ := c.RGBA()
	want := fmt.Sprintf("%s:#%02X%02X%02X", prop, r>>8, g>>8, b>>8)
	n := 0
	for _, p := range d.Paths {
		if strings.Contains(p.Style, want) {
			n++
		}
	}
	return n
}

func TestSVGSeriesGapsTitleAndLegend(t *testing.T) {
	o := opts(600, 300)
	o.Title = "cpu <&> load"
	doc := renderSVG(t, o, wave("palm.cpu", 0), wave("oak.cpu", 40))
	if doc.Width != "600" || doc.Height != "300" {
		t.Errorf("SVG size %sx%s, want 600x300", doc.Width, doc.Height)
	}
	// Each series: two runs (the gap splits it) and a legend square.
	for k := range 2 {
		if n := doc.strokes(PaletteColor(k)); n != 2 {
			t.Errorf("series %d: %d lines in its colour, want 2 runs", k, n)
		}
		if n := doc.fills(PaletteColor(k)); n != 1 {
			t.Errorf("series %d: %d filled paths in its colour, want its legend square", k, n)
		}
	}
	// The legend is under the plot: its squares lie below every line
	// (SVG y grows upwards here, inside the flipped group).
	legendTop, lineBottom := 0.0, math.Inf(1)
	for _, p := range doc.Paths {
		ys := pathYs(p.D)
		switch {
		case strings.Contains(p.Style, "fill:#1F77B4"):
			legendTop = max(legendTop, slices.Max(ys))
		case strings.Contains(p.Style, "stroke:#1F77B4"):
			lineBottom = min(lineBottom, slices.Min(ys))
		}
	}
	if legendTop >= lineBottom {
		t.Errorf("legend square reaches y=%v, above the lowest line point y=%v: the legend covers the plot", legendTop, lineBottom)
	}
	texts := strings.Join(doc.Texts, "|")
	for _, want := range []string{"cpu <&> load", "palm.cpu", "oak.cpu", "00:00", "01:00"} {
		if !strings.Contains(texts, want) {
			t.Errorf("SVG texts %q lack %q", texts, want)
		}
	}
	o.HideLegend = true
	hidden := renderSVG(t, o, wave("palm.cpu", 0))
	if n, f := hidden.strokes(PaletteColor(0)), hidden.fills(PaletteColor(0)); n != 2 || f != 0 {
		t.Errorf("hideLegend: %d lines and %d filled paths in the series' colour, want its 2 runs and no legend", n, f)
	}
	if strings.Contains(strings.Join(hidden.Texts, "|"), "palm.cpu") {
		t.Error("hideLegend: the legend is still drawn")
	}
}

// TestYMinYMax checks the y axis ends are the ones asked for.
// pathYs returns the y coordinates of an SVG path's "M x,y L x,y ..." data.
func pathYs(d string) []float64 {
	var ys []float64
	for _, f := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' || r == 'Z' }) {
		if _, y, ok := strings.Cut(f, ","); ok {
			if v, err := strconv.ParseFloat(y, 64); err == nil {
				ys = append(ys, v)
			}
		}
	}
	return ys
}

func TestYMinYMax(t *testing.T) {
	o := opts(400, 300)
	o.YMin, o.YMax = -50, 250
	doc := renderSVG(t, o, wave("a", 0))
	texts := "|" + strings.Join(doc.Texts, "|") + "|"
	for _, want := range []string{"|-50|", "|250|"} {
		if !strings.Contains(texts, want) {
			t.Errorf("y axis labels %q lack %q", texts, want)
		}
	}
}

func TestEmptyAndIrregular(t *testing.T) {
	// No series, a series of gaps only, and irregular points.
	irregular := Series{Name: "irr", Times: []int64{5, 100, 101, 3000}, Values: []float64{1, 2, 3, 4}}
	allGaps := Series{Name: "gaps", Start: 0, Step: 60, Values: []float64{math.NaN(), math.NaN()}}
	for _, series := range [][]Series{nil, {allGaps}, {irregular}, {irregular, allGaps}} {
		doc := renderSVG(t, opts(300, 200), series...)
		if doc.Width != "300" {
			t.Errorf("%d series: width %s", len(series), doc.Width)
		}
	}
	doc := renderSVG(t, opts(300, 200), irregular)
	if n := doc.strokes(PaletteColor(0)); n != 1 {
		t.Errorf("irregular series: %d lines, want 1", n)
	}
}

func TestBadOptions(t *testing.T) {
	nan := math.NaN()
	tests := []Options{
		{Width: -1, Height: 10, From: 0, Until: 1, YMin: nan, YMax: nan},
		{Width: MaxSide + 1, Height: 10, From: 0, Until: 1, YMin: nan, YMax: nan},
		{Width: 10, Height: 10, From: 5, Until: 5, YMin: nan, YMax: nan},
		{Width: 10, Height: 10, From: 0, Until: 1, YMin: 3, YMax: 2},
		{Width: 10, Height: 10, From: 0, Until: 1, YMin: math.Inf(-1), YMax: nan},
	}
	for _, o := range tests {
		if err := Render(io.Discard, PNG, o, nil); !errors.Is(err, ErrOptions) {
			t.Errorf("Render(%+v) = %v, want ErrOptions", o, err)
		}
	}
}

func TestParseColor(t *testing.T) {
	tests := []struct {
		in   string
		want color.Color
		ok   bool
	}{
		{"red", rgb(0xc80032), true},
		{"Red", rgb(0xc80032), true},
		{"#0a0B0c", rgb(0x0a0b0c), true},
		{"ff8800", rgb(0xff8800), true},
		{" blue ", rgb(0x6464ff), true},
		{"#fff", nil, false},
		{"nocolor", nil, false},
		{"gggggg", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseColor(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseColor(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if _, err := ParseColorList("red,,blue"); err == nil {
		t.Error("ParseColorList accepted an empty colour")
	}
}
