// Package renderimage draws series as a PNG or SVG chart, for graphite-web's
// /render?format=png|svg (issue #13). It takes plain input (a name and
// values on a time grid or at given times, NaN for a gap) and knows nothing
// of storage or HTTP, so that any producer of series can feed it: today the
// HTTP API's render handler, later the Graphite query engine.
//
// Every series is first consolidated to at most one point per pixel column
// of the image (averaging the values that fall in a column), so that the
// cost of drawing depends on the image's width, not on the points read: a
// 100,000-point series draws as fast as a 1,000-point one
// (BenchmarkRenderPNG). Text is drawn with the Liberation fonts that
// gonum.org/v1/plot embeds (codeberg.org/go-fonts), so no system font is
// needed.
package renderimage
