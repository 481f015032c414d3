package graphiteweb

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"

	"metricsd/internal/store"
)

// Format is a response format of the render API.
type Format uint8

// The formats metricsd renders; graphite-web's image formats and its
// pickle, raw and msgpack formats are not served.
const (
	FormatJSON Format = iota // [{"target": ..., "tags": {...}, "datapoints": [[value, ts], ...]}]
	FormatCSV                // target,YYYY-MM-DD HH:MM:SS,value lines
)

// ParseFormat maps the format parameter to a Format; "" is JSON.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "json":
		return FormatJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return 0, queryErrorf("unsupported format %q: metricsd renders json and csv", s)
}

// RenderRequest is a checked render query.
type RenderRequest struct {
	Targets []Target
	// From and Until bound the points returned: From < timestamp <= Until,
	// as graphite-web (whose storage excludes "from") returns them. From
	// must be less than Until.
	From, Until int64
	// MaxDataPoints, when positive, caps the points per series: a series
	// with more points in the range is consolidated by averaging fixed
	// time buckets (see consolidator). 0 returns every point.
	MaxDataPoints int
	Format        Format
}

// renderBufferSize is the buffer a render streams through.
const renderBufferSize = 32 << 10

// errStopVisit ends a visit early, once a series has passed Until.
var errStopVisit = errors.New("graphite: stop visit")

// Render streams the series of req to w: for each target in order, the
// series it matches, sorted by key. A path that matches no key gives no
// series; a key without points in the range gives a series with no
// datapoints, as graphite-web gives one full of nulls.
//
// Points are streamed as they are read, never gathered whole (except the
// MaxDataPoints points held to decide whether to consolidate). An error
// after the first byte was written leaves w with a partial answer; the
// caller must abort the response.
func Render(ctx context.Context, w io.Writer, st store.Storage, req RenderRequest) error {
	bw := bufio.NewWriterSize(w, renderBufferSize)
	out := newSeriesWriter(bw, req.Format)
	r := &renderer{ctx: ctx, st: st, req: req, out: out}
	r.cons.init(req, out.point)
	out.start()
	for _, t := range req.Targets {
		if err := r.target(t); err != nil {
			return err
		}
	}
	out.finish()
	return bw.Flush()
}

// renderer holds the state of one Render.
type renderer struct {
	ctx  context.Context
	st   store.Storage
	req  RenderRequest
	out  seriesWriter
	cons consolidator
}

func (r *renderer) target(t Target) error {
	if t.Pattern == nil {
		r.out.begin(t.Name)
		r.cons.add(store.Point{Timestamp: r.req.From, Value: t.Constant})
		r.cons.add(store.Point{Timestamp: r.req.Until, Value: t.Constant})
		r.cons.finish()
		r.out.end()
		return nil
	}
	keys, err := matchingKeys(r.ctx, r.st, t.Pattern)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.series(key); err != nil {
			return err
		}
	}
	return nil
}

// series writes one key's points in the range, if the key exists.
func (r *renderer) series(key string) error {
	started := false
	err := r.st.Get([]byte(key), func(_ []byte, pts []store.Point) error {
		if !started {
			r.out.begin(key)
			started = true
		}
		for _, p := range pts {
			switch {
			case p.Timestamp <= r.req.From:
				continue
			case p.Timestamp > r.req.Until:
				return errStopVisit // points come in ascending order
			}
			r.cons.add(p)
		}
		return r.ctx.Err()
	})
	if err != nil && !errors.Is(err, errStopVisit) {
		return err
	}
	if started {
		r.cons.finish()
		r.out.end()
	}
	return nil
}

// seriesWriter encodes series in one format. Writes go to a bufio.Writer,
// which keeps the first error and returns it from Flush.
type seriesWriter interface {
	start()
	begin(name string)
	point(ts int64, v float64)
	end()
	finish()
}

func newSeriesWriter(w *bufio.Writer, f Format) seriesWriter {
	if f == FormatCSV {
		return &csvWriter{w: w}
	}
	return &jsonWriter{w: w}
}

// jsonWriter writes graphite-web's JSON, key order and spacing included:
//
//	[{"target": "a.b", "tags": {"name": "a.b"}, "datapoints": [[1.0, 1500000000], [null, 1500000060]]}]
type jsonWriter struct {
	w          *bufio.Writer
	series     int // series begun so far
	pointsSent int // points of the current series
}

func (j *jsonWriter) start() { j.w.WriteByte('[') }

func (j *jsonWriter) begin(name string) {
	buf := j.w.AvailableBuffer()
	if j.series > 0 {
		buf = append(buf, ", "...)
	}
	buf = appendJSONString(append(buf, `{"target": `...), name)
	buf = appendJSONString(append(buf, `, "tags": {"name": `...), name)
	buf = append(buf, `}, "datapoints": [`...)
	j.w.Write(buf)
	j.series++
	j.pointsSent = 0
}

func (j *jsonWriter) point(ts int64, v float64) {
	buf := j.w.AvailableBuffer()
	if j.pointsSent > 0 {
		buf = append(buf, ", "...)
	}
	buf = appendJSONValue(append(buf, '['), v)
	buf = appendInt(append(buf, ", "...), ts)
	j.w.Write(append(buf, ']'))
	j.pointsSent++
}

func (j *jsonWriter) end()    { j.w.WriteString("]}") }
func (j *jsonWriter) finish() { j.w.WriteByte(']') }

// csvWriter writes graphite-web's CSV: one "target,time,value" row per
// point, rows ending in "\r\n" (Python's csv "excel" dialect), the time in
// UTC as YYYY-MM-DD HH:MM:SS, the value as Python prints a float ("nan",
// "inf" included).
type csvWriter struct {
	w    *bufio.Writer
	name []byte // the current series' name, quoted if it needs to be
}

func (c *csvWriter) start() {}

func (c *csvWriter) begin(name string) { c.name = appendCSVField(c.name[:0], name) }

func (c *csvWriter) point(ts int64, v float64) {
	buf := append(c.w.AvailableBuffer(), c.name...)
	buf = time.Unix(ts, 0).UTC().AppendFormat(append(buf, ','), time.DateTime)
	buf = appendCSVValue(append(buf, ','), v)
	c.w.Write(append(buf, '\r', '\n'))
}

func (c *csvWriter) end()    {}
func (c *csvWriter) finish() {}
