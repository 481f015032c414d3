package renderimage

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an image format.
type Format uint8

// The image formats drawn.
const (
	PNG Format = iota
	SVG
)

// Graphite-web's default image size, and the largest drawn: a bigger one
// costs memory (4 bytes a pixel) for no screen.
const (
	DefaultWidth  = 330
	DefaultHeight = 250
	MaxSide       = 8192
)

// maxSpan bounds the time range drawn (about 3,000 years), so that the
// range's length is an exact, finite number of seconds.
const maxSpan = 1e11

// Series is one line of the chart. Values[i] is at Times[i] when Times is
// not nil (irregular points, as metricsd's store returns them), else at
// Start + i*Step. A NaN (or infinite) value is a gap: the line breaks there.
type Series struct {
	Name        string
	Start, Step int64
	Times       []int64
	Values      []float64
}

// Options are the chart's settings, named after graphite-web's render
// parameters.
type Options struct {
	Width, Height int    // pixels; 0 is graphite-web's default (330×250)
	Title         string // title; "" for none
	From, Until   int64  // the x axis, in Unix seconds; From < Until
	HideLegend    bool   // hideLegend=true
	// YMin and YMax fix the y axis ends; NaN lets the data choose.
	YMin, YMax float64
	// Stacked draws each series on top of the ones before it, its area
	// filled (areaMode=stacked); NaNs count as 0 in the stack.
	Stacked bool
	// Colors colour the series in order (colorList); nil or too short
	// continues with the palette (PaletteColor).
	Colors []color.Color
}

// ErrOptions is wrapped by every error about the options.
var ErrOptions = errors.New("renderimage: bad options")

// Render draws series as a chart in format f to w. It checks opts first
// and wraps ErrOptions when they are wrong.
func Render(w io.Writer, f Format, opts Options, series []Series) error {
	if opts.Width == 0 {
		opts.Width = DefaultWidth
	}
	if opts.Height == 0 {
		opts.Height = DefaultHeight
	}
	if err := check(opts); err != nil {
		return err
	}
	p, entries, err := newPlot(opts, series, f == PNG)
	if err != nil {
		return err
	}
	wl, hl := vg.Length(opts.Width), vg.Length(opts.Height)
	switch f {
	case PNG:
		// 72 dots per inch makes one vg point one pixel.
		c := vgimg.NewWith(vgimg.UseWH(wl, hl), vgimg.UseDPI(72))
		drawChart(draw.New(c), p, entries)
		// Default compression spent three quarters of a jagged chart's
		// CPU in deflate; BestSpeed files are barely larger for charts
		// (large flat areas).
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(w, c.Image()); err != nil {
			return fmt.Errorf("renderimage: write png: %w", err)
		}
	case SVG:
		c := vgsvg.New(wl, hl)
		drawChart(draw.New(c), p, entries)
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return fmt.Errorf("renderimage: write svg: %w", err)
		}
		if _, err := w.Write(pixelSized(buf.Bytes(), opts.Width, opts.Height)); err != nil {
			return fmt.Errorf("renderimage: write svg: %w", err)
		}
	default:
		return fmt.Errorf("%w: unknown format %d", ErrOptions, f)
	}
	return nil
}

// pixelSized rewrites the size of vgsvg's document from points to unitless
// (CSS pixels), as graphite-web sizes its SVG: the drawing is already in
// one unit per pixel (the viewBox).
func pixelSized(svg []byte, w, h int) []byte {
	old := fmt.Appendf(nil, `width="%dpt" height="%dpt"`, w, h)
	return bytes.Replace(svg, old, fmt.Appendf(nil, `width="%d" height="%d"`, w, h), 1)
}

func check(o Options) error {
	switch {
	case o.Width < 1 || o.Width > MaxSide || o.Height < 1 || o.Height > MaxSide:
		return fmt.Errorf("%w: width and height must be 1 to %d pixels, got %dx%d", ErrOptions, MaxSide, o.Width, o.Height)
	case o.From >= o.Until:
		return fmt.Errorf("%w: empty time range %d..%d", ErrOptions, o.From, o.Until)
	case float64(o.Until)-float64(o.From) > maxSpan:
		return fmt.Errorf("%w: time range %d..%d longer than %g s", ErrOptions, o.From, o.Until, maxSpan)
	case !math.IsNaN(o.YMin) && !math.IsNaN(o.YMax) && o.YMin >= o.YMax:
		return fmt.Errorf("%w: yMin %v is not below yMax %v", ErrOptions, o.YMin, o.YMax)
	case math.IsInf(o.YMin, 0) || math.IsInf(o.YMax, 0):
		return fmt.Errorf("%w: yMin and yMax must be finite", ErrOptions)
	}
	return nil
}

// newPlot lays out the chart (axes, series) and returns the legend's
// entries, which drawChart draws under it.
//
// chunked splits long lines into pieces of chunkLen segments, for the PNG
// rasterizer: freetype's cost per path grows with the cells a path covers
// in a row (Rasterizer.findCell), so a jagged 900-segment line drawn whole
// took over a second, and in pieces a few tens of milliseconds. The pieces
// share their end points, so the line looks the same.
func newPlot(o Options, series []Series, chunked bool) (*plot.Plot, []legendEntry, error) {
	p := plot.New()
	p.Title.Text = o.Title
	p.Title.TextStyle.Font = sans(13)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Tick.Label.Font = sans(10)
		ax.Label.TextStyle.Font = sans(11)
	}
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = timeTicker{width: o.Width}
	columns := o.Width
	d := &drawer{p: p, o: o, chunk: 1 << 30} // one path per run
	if chunked {
		d.chunk = chunkLen
	}
	var err error
	if o.Stacked {
		err = d.addStacked(series, columns)
	} else {
		err = d.addLines(series, columns)
	}
	if err != nil {
		return nil, nil, err
	}
	p.X.Min, p.X.Max = float64(o.From), float64(o.Until)
	p.Y.Min, p.Y.Max = yRange(p.Y.Min, p.Y.Max, o)
	return p, d.legend, nil
}

// yBound bounds the y axis ends, so that their distance and a margin on
// either side stay finite: gonum's tick search fails on an infinite span.
const yBound = math.MaxFloat64 / 4

// yRange returns the y axis ends: the data's [lo, hi] (lo > hi when there
// is no data), overridden by yMin and yMax, made a non-empty finite range.
func yRange(lo, hi float64, o Options) (float64, float64) {
	if lo > hi {
		lo, hi = 0, 1
	}
	if !math.IsNaN(o.YMin) {
		lo = o.YMin
	}
	if !math.IsNaN(o.YMax) {
		hi = o.YMax
	}
	lo, hi = max(-yBound, min(lo, yBound)), max(-yBound, min(hi, yBound))
	if lo >= hi {
		d := max(1, math.Abs(lo)/2, math.Abs(hi)/2)
		if math.IsNaN(o.YMin) && !math.IsNaN(o.YMax) {
			lo = hi - d // only yMax was given: keep it
		} else {
			hi = lo + d
		}
	}
	return lo, hi
}

// colorOf returns series k's colour.
func colorOf(o Options, k int) color.Color {
	if k < len(o.Colors) {
		return o.Colors[k]
	}
	return PaletteColor(k)
}

// lineWidth is every series' line width, in pixels.
const lineWidth = 1.5

// chunkLen is the most segments of one PNG path (see newPlot).
const chunkLen = 16

// drawer adds series to a plot.
type drawer struct {
	p      *plot.Plot
	o      Options
	chunk  int           // most segments per path
	legend []legendEntry // in the series' order; none with hideLegend
}

func (d *drawer) addLines(series []Series, columns int) error {
	for k := range series {
		pts := consolidate(&series[k], d.o.From, d.o.Until, columns)
		if err := d.addRuns(series[k].Name, colorOf(d.o, k), pts, nil); err != nil {
			return err
		}
	}
	return nil
}

func (d *drawer) addStacked(series []Series, columns int) error {
	o := d.o
	xs, ys := stackGrid(series, o.From, o.Until, columns)
	// Cumulative sums, NaN counting as 0 below but breaking the series'
	// own top line.
	tops := make([][]xy, len(series))
	sum := make([]float64, len(xs))
	for k := range series {
		tops[k] = make([]xy, len(xs))
		for i, x := range xs {
			v := ys[k][i]
			if math.IsNaN(v) {
				tops[k][i] = xy{x, math.NaN()}
				continue
			}
			sum[i] += v
			tops[k][i] = xy{x, sum[i]}
		}
	}
	// Draw the highest area first, so that each lower one paints over
	// the part of it that belongs to the series below; the legend keeps
	// the series' order.
	for k := len(series) - 1; k >= 0; k-- {
		c := colorOf(o, k)
		if err := d.addRuns("", c, tops[k], c); err != nil {
			return err
		}
	}
	if !o.HideLegend {
		for k := range series {
			d.legend = append(d.legend, legendEntry{series[k].Name, colorOf(o, k)})
		}
	}
	return nil
}

// addRuns draws pts as lines broken at NaN gaps (a lone point as a dot),
// filled below when fill is not nil, and adds a legend entry for name
// unless name is "" or the legend is hidden.
func (d *drawer) addRuns(name string, c color.Color, pts []xy, fill color.Color) error {
	p, o := d.p, d.o
	if name != "" && !o.HideLegend {
		d.legend = append(d.legend, legendEntry{name, c})
	}
	for start := 0; start < len(pts); {
		if math.IsNaN(pts[start].y) || math.IsInf(pts[start].y, 0) {
			start++
			continue
		}
		end := start
		for end < len(pts) && !math.IsNaN(pts[end].y) && !math.IsInf(pts[end].y, 0) {
			end++
		}
		run := make(plotter.XYs, end-start)
		for i, q := range pts[start:end] {
			run[i] = plotter.XY{X: q.x, Y: q.y}
		}
		if len(run) == 1 && fill == nil {
			s, err := plotter.NewScatter(run)
			if err != nil {
				return fmt.Errorf("renderimage: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: 1.5, Shape: draw.CircleGlyph{}}
			p.Add(s)
		} else {
			for i := 0; i < len(run)-1; i += d.chunk {
				l, err := plotter.NewLine(run[i:min(len(run), i+d.chunk+1)])
				if err != nil {
					return fmt.Errorf("renderimage: %w", err)
				}
				l.LineStyle = draw.LineStyle{Color: c, Width: lineWidth}
				l.FillColor = fill
				p.Add(l)
			}
		}
		start = end
	}
	return nil
}

// timeSteps are the spacings of time ticks, in seconds: the web page's
// (chart.js) steps, so that both label the same times.
var timeSteps = []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
	21600, 43200, 86400, 172800, 604800, 2592000, 7776000, 31536000}

// timeTicker labels the x axis in UTC at round times, about every
// pixelsPerTick pixels of width.
type timeTicker struct{ width int }

// pixelsPerTick is the room a time label needs.
const pixelsPerTick = 110

// Ticks implements plot.Ticker.
func (tt timeTicker) Ticks(lo, hi float64) []plot.Tick {
	want := (hi - lo) / float64(max(2, tt.width/pixelsPerTick))
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if float64(s) >= want {
			step = s
			break
		}
	}
	format := "15:04"
	switch {
	case step < 60:
		format = "15:04:05"
	case step >= 86400:
		format = "01-02"
	case hi-lo > 86400:
		format = "01-02 15:04"
	}
	var ticks []plot.Tick
	for t := int64(math.Ceil(lo/float64(step))) * step; float64(t) <= hi; t += step {
		ticks = append(ticks, plot.Tick{Value: float64(t), Label: time.Unix(t, 0).UTC().Format(format)})
	}
	return ticks
}
