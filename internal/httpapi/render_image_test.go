package httpapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"metricsd/internal/renderimage"
	"metricsd/internal/store"
)

// TestRenderImage renders PNG and SVG over HTTP as graphite-web serves
// them and checks the size, that every series is drawn, and the errors.
func TestRenderImage(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 360 {
		ts := testNow.Unix() - 3600 + int64(i)*10
		a.put(t, "palm.cpu", float64(i%50), ts)
		a.put(t, "oak.cpu", float64(100+i%30), ts)
	}
	q := "/render?target=palm.cpu&target=oak.cpu&from=-1h&until=now&width=500&height=300&title=Two+series"
	code, ctype, body := a.get(t, q+"&format=png")
	if code != 200 || ctype != "image/png" {
		t.Fatalf("png: %d %s %.200s", code, ctype, body)
	}
	img, err := png.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 500 || b.Dy() != 300 {
		t.Errorf("png is %dx%d, want 500x300", b.Dx(), b.Dy())
	}
	for k := range 2 {
		want := renderimage.PaletteColor(k)
		n := 0
		for y := range 300 {
			for x := range 500 {
				if img.At(x, y) == want {
					n++
				}
			}
		}
		if n < 20 {
			t.Errorf("png: series %d has %d pixels of its colour", k, n)
		}
	}

	code, ctype, body = a.get(t, q+"&format=svg&areaMode=stacked&yMin=0&yMax=200")
	if code != 200 || ctype != "image/svg+xml" {
		t.Fatalf("svg: %d %s %.200s", code, ctype, body)
	}
	var doc struct {
		Width  string   `xml:"width,attr"`
		Height string   `xml:"height,attr"`
		Texts  []string `xml:"g>text"`
		Paths  []struct {
			Style string `xml:"style,attr"`
		} `xml:"g>path"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("svg: %v", err)
	}
	texts := "|" + strings.Join(doc.Texts, "|") + "|"
	for _, want := range []string{"|Two series|", "|palm.cpu|", "|oak.cpu|", "|0|", "|200|"} {
		if !strings.Contains(texts, want) {
			t.Errorf("svg texts %s lack %s", texts, want)
		}
	}
	if doc.Width != "500" || doc.Height != "300" {
		t.Errorf("svg size %sx%s", doc.Width, doc.Height)
	}
	filled := 0
	for _, p := range doc.Paths {
		if strings.Contains(p.Style, "fill:#1F77B4") || strings.Contains(p.Style, "fill:#FF7F0E") {
			filled++
		}
	}
	if filled < 2 {
		t.Errorf("stacked svg: %d filled areas in the series' colours, want both", filled)
	}

	for _, bad := range []string{"&width=0", "&height=99999", "&yMin=x", "&areaMode=first", "&hideLegend=yes", "&colorList=nocolour", "&yMin=5&yMax=1"} {
		code, _, body := a.get(t, "/render?target=palm.cpu&format=png"+bad)
		if code != 400 {
			t.Errorf("%s: %d %.100s, want 400", bad, code, body)
		}
	}
	// A target that matches nothing still draws an (empty) chart.
	if code, ctype, _ := a.get(t, "/render?target=none.*&format=svg"); code != 200 || ctype != "image/svg+xml" {
		t.Errorf("empty svg: %d %s", code, ctype)
	}
}

// BenchmarkRenderPNG100k serves /render?format=png of one stored series of
// 100,000 points (a day and more at 1 s) through the HTTP handler: read,
// consolidate to the width, draw, encode.
func BenchmarkRenderPNG100k(b *testing.B) {
	st := store.NewMemory()
	const n = 100_000
	for i := range n {
		if err := st.Put([]byte("big.series"), store.Point{Timestamp: testNow.Unix() - n + int64(i), Value: float64(i % 977)}); err != nil {
			b.Fatal(err)
		}
	}
	mux, err := newMux(Config{Storage: st, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)}, access{})
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{"target": {"big.series"}, "from": {fmt.Sprint(testNow.Unix() - n - 1)}, "until": {"now"}, "format": {"png"}, "width": {"900"}, "height": {"400"}}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/render?"+q.Encode(), nil))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(rec.Body.Bytes())); err != nil {
			b.Fatal(err)
		}
	}

}
