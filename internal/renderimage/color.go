package renderimage

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
)

// palette colours series without a colour of their own, in order. It is
// the web page's palette (internal/ui/assets/chart.js), so a chart and its
// PNG export match. Read it through PaletteColor.
var palette = [...]color.RGBA{
	rgb(0x1f77b4), rgb(0xff7f0e), rgb(0x2ca02c), rgb(0xd62728), rgb(0x9467bd), rgb(0x8c564b), rgb(0xe377c2), rgb(0x7f7f7f),
	rgb(0xbcbd22), rgb(0x17becf), rgb(0x393b79), rgb(0xe7ba52), rgb(0x637939), rgb(0xad494a), rgb(0x7b4173), rgb(0x3182bd),
	rgb(0xe6550d), rgb(0x31a354), rgb(0x756bb1), rgb(0x636363),
}

// PaletteColor returns the colour of the k-th series (from 0) when
// colorList gives it none; the palette's 20 colours repeat.
func PaletteColor(k int) color.RGBA { return palette[k%len(palette)] }

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// namedColors are the colour names colorList accepts, graphite-web's
// basic ones.
var namedColors = map[string]uint32{
	"black": 0x000000, "white": 0xffffff, "blue": 0x6464ff, "green": 0x00c800, "red": 0xc80032,
	"yellow": 0xffff00, "orange": 0xffa500, "purple": 0xc864ff, "brown": 0x96641e, "cyan": 0x00ffff,
	"aqua": 0x0096c8, "gray": 0xafafaf, "grey": 0xafafaf, "magenta": 0xff00ff, "pink": 0xff6464,
	"gold": 0xc8c800, "rose": 0xc896c8, "darkblue": 0x0000ff, "darkgreen": 0x00ff00, "darkred": 0xff0000,
	"darkgray": 0x6f6f6f, "darkgrey": 0x6f6f6f,
}

// ParseColor reads one colour of graphite-web's colorList: a name
// ("red", "darkgray") or six hex digits with or without "#" ("ff8800").
func ParseColor(s string) (color.Color, error) {
	s = strings.TrimSpace(s)
	if v, ok := namedColors[strings.ToLower(s)]; ok {
		return rgb(v), nil
	}
	hex := strings.TrimPrefix(s, "#")
	if len(hex) == 6 {
		if v, err := strconv.ParseUint(hex, 16, 32); err == nil {
			return rgb(uint32(v)), nil
		}
	}
	return nil, fmt.Errorf("%w: unknown colour %q: want a name or rrggbb", ErrOptions, s)
}

// ParseColorList reads a comma-separated colorList.
func ParseColorList(s string) ([]color.Color, error) {
	if s == "" {
		return nil, nil
	}
	var out []color.Color
	for _, part := range strings.Split(s, ",") {
		c, err := ParseColor(part)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
