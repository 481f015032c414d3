package renderimage

import (
	"fmt"
	"io"
	"math"
	"testing"
)

// BenchmarkRenderPNG draws a 900x400 PNG of one series of n points, of a
// smooth shape (five sine periods whatever n) and a jagged one (a period
// every 628 points, so that 100,000 points fill the plot with a zigzag).
// Thanks to the per-column consolidation the cost depends on the shape
// drawn, not on n (docs/ui.md has the figures).
func BenchmarkRenderPNG(b *testing.B) {
	shapes := []struct {
		name string
		f    func(i, n int) float64
	}{
		{"smooth", func(i, n int) float64 { return math.Sin(10 * math.Pi * float64(i) / float64(n)) }},
		{"jagged", func(i, _ int) float64 { return math.Sin(float64(i) / 100) }},
	}
	for _, sh := range shapes {
		for _, n := range []int{1_000, 100_000} {
			s := Series{Name: "s", Start: 0, Step: 1}
			for i := range n {
				s.Values = append(s.Values, sh.f(i, n))
			}
			o := Options{Width: 900, Height: 400, From: 0, Until: int64(n), YMin: math.NaN(), YMax: math.NaN()}
			b.Run(fmt.Sprintf("shape=%s/points=%d", sh.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := Render(io.Discard, PNG, o, []Series{s}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
