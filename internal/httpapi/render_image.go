package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"metricsd/internal/graphiteweb"
	"metricsd/internal/renderimage"
)

// legendMaxItems is graphite-web's LEGEND_MAX_ITEMS: without hideLegend,
// a chart of more series than this has no legend.
const legendMaxItems = 10

// imageFormat returns the image format that /render's format parameter
// asks for, if it asks for one.
func imageFormat(form url.Values) (renderimage.Format, bool) {
	switch first(form, "format") {
	case "png":
		return renderimage.PNG, true
	case "svg":
		return renderimage.SVG, true
	}
	return 0, false
}

// renderImage serves /render?format=png|svg (issue #13): it renders the
// targets as JSON through the ordinary render path, consolidated to the
// image's width (maxDataPoints), and draws that with internal/renderimage.
// The image is built whole before the first byte is sent, so that a
// failure is a clean 4xx or 500.
func (a *graphiteAPI) renderImage(w http.ResponseWriter, r *http.Request, f renderimage.Format) {
	form := maps.Clone(r.Form)
	form.Del("format")
	req, err := a.renderRequest(form)
	if err != nil {
		a.badRequest(w, r, err)
		return
	}
	opts, hideLegend, err := imageOptions(form, req)
	if err != nil {
		a.badRequest(w, r, err)
		return
	}
	req.MaxDataPoints = opts.Width
	var js bytes.Buffer
	if err := a.engine.Render(r.Context(), &js, req); err != nil {
		a.queryFailed(w, r, err)
		return
	}
	series, err := decodeRenderJSON(js.Bytes())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	opts.HideLegend = hideLegend == "true" || (hideLegend == "" && len(series) > legendMaxItems)
	var img bytes.Buffer
	if err := renderimage.Render(&img, f, opts, series); err != nil {
		if errors.Is(err, renderimage.ErrOptions) {
			a.badRequest(w, r, &graphiteweb.QueryError{Msg: err.Error()})
			return
		}
		a.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	if f == renderimage.SVG {
		h.Set("Content-Type", "image/svg+xml")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(img.Len()))
	w.Write(img.Bytes())
}

// imageOptions reads graphite-web's image parameters: width, height,
// title, hideLegend, yMin, yMax, areaMode (none or stacked) and colorList.
// It returns hideLegend as given ("" when absent).
func imageOptions(form url.Values, req graphiteweb.RenderRequest) (renderimage.Options, string, error) {
	o := renderimage.Options{
		Width: renderimage.DefaultWidth, Height: renderimage.DefaultHeight,
		Title: first(form, "title"), From: req.From, Until: req.Until,
		YMin: math.NaN(), YMax: math.NaN(),
	}
	var errs []error
	for _, p := range []struct {
		name string
		dst  *int
	}{{"width", &o.Width}, {"height", &o.Height}} {
		if s := first(form, p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > renderimage.MaxSide {
				errs = append(errs, queryError("invalid %s %q: want 1 to %d pixels", p.name, s, renderimage.MaxSide))
			}
			*p.dst = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *float64
	}{{"yMin", &o.YMin}, {"yMax", &o.YMax}} {
		if s := first(form, p.name); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, queryError("invalid %s %q: want a number", p.name, s))
			}
			*p.dst = v
		}
	}
	switch m := first(form, "areaMode"); m {
	case "", "none":
	case "stacked":
		o.Stacked = true
	default:
		errs = append(errs, queryError("unsupported areaMode %q: metricsd draws none and stacked", m))
	}
	hide := first(form, "hideLegend")
	if hide != "" && hide != "true" && hide != "false" {
		errs = append(errs, queryError("invalid hideLegend %q: want true or false", hide))
	}
	colors, err := renderimage.ParseColorList(first(form, "colorList"))
	if err != nil {
		errs = append(errs, &graphiteweb.QueryError{Msg: err.Error()})
	}
	o.Colors = colors
	return o, hide, errors.Join(errs...)
}

func queryError(format string, args ...any) error {
	return &graphiteweb.QueryError{Msg: fmt.Sprintf(format, args...)}
}

// decodeRenderJSON reads the render API's JSON into series for drawing;
// null values are gaps (NaN).
func decodeRenderJSON(b []byte) ([]renderimage.Series, error) {
	var raw []struct {
		Target     string        `json:"target"`
		Datapoints [][2]*float64 `json:"datapoints"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("httpapi: decode render for an image: %w", err)
	}
	out := make([]renderimage.Series, len(raw))
	for i, s := range raw {
		out[i].Name = s.Target
		out[i].Times = make([]int64, len(s.Datapoints))
		out[i].Values = make([]float64, len(s.Datapoints))
		for k, dp := range s.Datapoints {
			if dp[1] == nil {
				return nil, fmt.Errorf("httpapi: decode render for an image: datapoint without a time in %q", s.Target)
			}
			out[i].Times[k] = int64(*dp[1])
			out[i].Values[k] = math.NaN()
			if dp[0] != nil {
				out[i].Values[k] = *dp[0]
			}
		}
	}
	return out, nil
}
