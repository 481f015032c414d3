package ui_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"testing"

	"metricsd/internal/renderimage"
	"metricsd/internal/ui"
)

// TestPaletteMatchesServerRender checks that the page's chart colours are
// the server renderer's, so that a chart and its PNG/SVG export match.
func TestPaletteMatchesServerRender(t *testing.T) {
	src, err := fs.ReadFile(ui.Assets(), "chart.js")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)export const palette = \[(.*?)\];`).FindSubmatch(src)
	if block == nil {
		t.Fatal("chart.js has no palette")
	}
	colors := regexp.MustCompile(`"#([0-9a-f]{6})"`).FindAllSubmatch(block[1], -1)
	if len(colors) != 20 {
		t.Fatalf("chart.js palette has %d colours, want 20", len(colors))
	}
	for k, c := range colors {
		p := renderimage.PaletteColor(k)
		if want := fmt.Sprintf("%02x%02x%02x", p.R, p.G, p.B); string(c[1]) != want {
			t.Errorf("colour %d: page %s, server %s", k, c[1], want)
		}
	}
}
