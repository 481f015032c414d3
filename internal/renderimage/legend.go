package renderimage

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// legendEntry is one series in the legend.
type legendEntry struct {
	name  string
	color color.Color
}

// Legend layout, in pixels. The legend sits under the plot, entries side
// by side in rows, as graphite-web draws it, so that it never covers the
// data (gonum's own legend is drawn inside the plot area).
const (
	legendFontSize = 10
	legendPad      = 4  // around the legend block
	legendSwatch   = 8  // side of a colour square
	legendGap      = 12 // between entries
)

// sans is the chart's typeface at size points: Liberation Sans, which
// gonum embeds.
func sans(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

// placed is a legend entry at its x offset in its row.
type placed struct {
	x vg.Length
	e legendEntry
}

// drawChart draws p on dc with the legend entries in rows under it. The
// legend takes at most a third of the height; entries that do not fit are
// left out.
func drawChart(dc draw.Canvas, p *plot.Plot, entries []legendEntry) {
	if len(entries) == 0 {
		p.Draw(dc)
		return
	}
	sty := draw.TextStyle{
		Color:   color.Black,
		Font:    sans(legendFontSize),
		Handler: plot.DefaultTextHandler,
		XAlign:  draw.XLeft,
		YAlign:  draw.YCenter,
	}
	rowH := sty.Height("Xg") + 4
	width := dc.Max.X - dc.Min.X
	var rows [][]placed
	x := vg.Length(legendPad)
	for _, e := range entries {
		w := legendSwatch + 4 + sty.Width(e.name)
		if len(rows) == 0 || (x+w > width-legendPad && x > legendPad) {
			rows = append(rows, nil)
			x = legendPad
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], placed{x, e})
		x += w + legendGap
	}
	maxRows := max(1, int((dc.Max.Y-dc.Min.Y)/3/rowH))
	rows = rows[:min(len(rows), maxRows)]
	height := vg.Length(len(rows))*rowH + 2*legendPad
	p.Draw(draw.Crop(dc, 0, 0, height, 0))
	for r, row := range rows {
		y := dc.Min.Y + height - legendPad - (vg.Length(r)+0.5)*rowH
		for _, pl := range row {
			x := dc.Min.X + pl.x
			var sq vg.Path
			sq.Move(vg.Point{X: x, Y: y - legendSwatch/2})
			sq.Line(vg.Point{X: x + legendSwatch, Y: y - legendSwatch/2})
			sq.Line(vg.Point{X: x + legendSwatch, Y: y + legendSwatch/2})
			sq.Line(vg.Point{X: x, Y: y + legendSwatch/2})
			sq.Close()
			dc.SetColor(pl.e.color)
			dc.Fill(sq)
			dc.FillText(sty, vg.Point{X: x + legendSwatch + 4, Y: y}, pl.e.name)
		}
	}
}
