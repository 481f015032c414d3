package graphiteweb

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/target"
)

// Format is a response format of the render API.
type Format uint8

// The text formats metricsd renders (png and svg are drawn by
// internal/renderimage, hooked in the HTTP handler); graphite-web's pickle
// and msgpack formats are not served.
const (
	FormatJSON Format = iota // [{"target": ..., "tags": {...}, "datapoints": [[value, ts], ...]}]
	FormatCSV                // target,YYYY-MM-DD HH:MM:SS,value lines
	FormatRaw                // target,start,end,step|v1,v2,... lines
)

// ParseFormat maps the format parameter to a Format; "" is JSON.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "json":
		return FormatJSON, nil
	case "csv":
		return FormatCSV, nil
	case "raw":
		return FormatRaw, nil
	}
	return 0, queryErrorf("unsupported format %q: metricsd renders json, csv, raw, png and svg", s)
}

// Target is one parsed target of a render request.
type Target struct {
	Text string
	Node target.Node
}

// ParseTarget parses a render target with graphite-web's grammar; the
// error is a *QueryError.
func ParseTarget(s string) (Target, error) {
	n, err := target.Parse(s)
	if err != nil {
		return Target{}, &QueryError{Msg: err.Error()}
	}
	return Target{Text: s, Node: n}, nil
}

// RenderRequest is a checked render query.
type RenderRequest struct {
	Targets []Target
	// From and Until are the range: each series has the slots of its
	// step from the first after From to the one holding Until, as
	// graphite-web's whisper reader gives them. From < Until.
	From, Until int64
	// MaxDataPoints, when positive, consolidates JSON series with more
	// slots than that, as graphite-web does (see consolidateForJSON).
	MaxDataPoints int
	Format        Format
	// NoNullPoints drops null points from JSON, and series left empty.
	NoNullPoints bool
}

// Engine answers graphite-web's query endpoints over a store.
type Engine struct {
	Storage store.Storage
	// Schemas give each series its step; nil uses the default rule for
	// every series (see Schemas).
	Schemas *Schemas
	Limits  Limits
}

// renderBufferSize is the buffer a render streams through.
const renderBufferSize = 32 << 10

// Evaluate evaluates the request's targets, in order, within the
// request's limits. A *QueryError, *target.Error or *LimitError is the
// request's fault; context.DeadlineExceeded means the time budget ran
// out.
func (e *Engine) Evaluate(ctx context.Context, req RenderRequest) (target.SeriesList, error) {
	f := &fetcher{st: e.Storage, schemas: e.Schemas, budget: newBudget(e.Limits)}
	c := &target.Context{Ctx: ctx, From: req.From, Until: req.Until, Fetch: f.fetch}
	var out target.SeriesList
	for _, t := range req.Targets {
		list, err := target.Eval(c, t.Node)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// Render evaluates req and writes the answer to w. Nothing is written
// if evaluation fails.
func (e *Engine) Render(ctx context.Context, w io.Writer, req RenderRequest) error {
	list, err := e.Evaluate(ctx, req)
	if err != nil {
		return err
	}
	return WriteSeries(w, list, req)
}

// WriteSeries encodes evaluated series in req's format.
func WriteSeries(w io.Writer, list target.SeriesList, req RenderRequest) error {
	bw := bufio.NewWriterSize(w, renderBufferSize)
	switch req.Format {
	case FormatCSV:
		writeCSV(bw, list)
	case FormatRaw:
		writeRaw(bw, list)
	default:
		if req.MaxDataPoints > 0 {
			consolidateForJSON(list, req.MaxDataPoints)
		}
		writeJSON(bw, list, req.NoNullPoints)
	}
	return bw.Flush()
}

// consolidateForJSON applies maxDataPoints as graphite-web's
// renderViewJson does: over the range of all the series, a series with
// more slots than max is consolidated by ceil(slots/max) slots per point
// (its consolidateBy function), its start nudged so that buckets align
// with multiples of the new step and stay put from one refresh to the
// next.
func consolidateForJSON(list target.SeriesList, max int) {
	if len(list) == 0 {
		return
	}
	start, end := list[0].Start, list[0].End
	for _, s := range list {
		start, end = min(start, s.Start), maxInt64(end, s.End)
	}
	timeRange := end - start
	for _, s := range list {
		if max == 1 {
			s.ValuesPerPoint = len(s.Values)
			continue
		}
		points := float64(timeRange) / float64(s.Step)
		if float64(max) >= points {
			continue
		}
		vpp := int64(math.Ceil(points / float64(max)))
		spp := vpp * s.Step
		nudge := spp + pyMod(s.Start, s.Step) - pyMod(s.Start, spp)
		s.Start += nudge
		lose := int(nudge / s.Step)
		if drop := min(max0(lose-1), len(s.Values)); drop > 0 {
			s.Values = s.Values[drop:]
		}
		s.ValuesPerPoint = int(vpp)
	}
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// pyMod is Python's a % b for a positive b.
func pyMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// writeJSON writes graphite-web's JSON, key order and spacing included:
//
//	[{"target": "a.b", "tags": {"name": "a.b"}, "datapoints": [[1.0, 1500000000], [null, 1500000060]]}]
//
// Timestamps run from the series' start by step × ValuesPerPoint, as
// many as there are (consolidated) values and no further than its end.
func writeJSON(w *bufio.Writer, list target.SeriesList, noNulls bool) {
	w.WriteByte('[')
	first := true
	for _, s := range list {
		pts := s.Points()
		step := s.Step * int64(max(s.ValuesPerPoint, 1))
		n := len(pts)
		switch {
		case s.End < s.Start:
			n = 0
		case step > 0:
			n = min(n, int((s.End-s.Start)/step)+1)
		}
		if noNulls && !anyValue(pts[:n]) {
			continue
		}
		buf := w.AvailableBuffer()
		if !first {
			buf = append(buf, ", "...)
		}
		first = false
		buf = appendJSONString(append(buf, `{"target": `...), s.Name)
		buf = append(buf, `, "tags": {`...)
		for i, t := range s.Tags {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = appendJSONString(buf, t.Key)
			buf = appendJSONString(append(buf, ": "...), t.Value)
		}
		buf = append(buf, `}, "datapoints": [`...)
		w.Write(buf)
		sep := false
		for i := range n {
			v := pts[i]
			if noNulls && target.IsNull(v) {
				continue
			}
			buf = w.AvailableBuffer()
			if sep {
				buf = append(buf, ", "...)
			}
			sep = true
			buf = appendJSONValue(append(buf, '['), v)
			buf = appendInt(append(buf, ", "...), s.Start+int64(i)*step)
			w.Write(append(buf, ']'))
		}
		w.WriteString("]}")
	}
	w.WriteByte(']')
}

func anyValue(v []float64) bool {
	for _, x := range v {
		if !target.IsNull(x) {
			return true
		}
	}
	return false
}

// writeCSV writes graphite-web's CSV: one "target,time,value" row per
// slot, rows ending in "\r\n" (Python's csv "excel" dialect), the time in
// UTC as YYYY-MM-DD HH:MM:SS, the value as Python prints a float, empty
// for null.
func writeCSV(w *bufio.Writer, list target.SeriesList) {
	var name []byte
	for _, s := range list {
		name = appendCSVField(name[:0], s.Name)
		for i, v := range s.Points() {
			buf := append(w.AvailableBuffer(), name...)
			ts := s.Start + int64(i)*s.Step
			buf = time.Unix(ts, 0).UTC().AppendFormat(append(buf, ','), time.DateTime)
			buf = append(buf, ',')
			if !target.IsNull(v) {
				buf = appendCSVValue(buf, v)
			}
			w.Write(append(buf, '\r', '\n'))
		}
	}
}

// writeRaw writes graphite-web's raw format: per series one line
// "name,start,end,step|v1,v2,...", values as Python's repr, "None" for
// null.
func writeRaw(w *bufio.Writer, list target.SeriesList) {
	for _, s := range list {
		buf := append(w.AvailableBuffer(), s.Name...)
		buf = appendInt(append(buf, ','), s.Start)
		buf = appendInt(append(buf, ','), s.End)
		buf = appendInt(append(buf, ','), s.Step)
		w.Write(append(buf, '|'))
		for i, v := range s.Points() {
			buf = w.AvailableBuffer()
			if i > 0 {
				buf = append(buf, ',')
			}
			if target.IsNull(v) {
				buf = append(buf, "None"...)
			} else {
				buf = appendCSVValue(buf, v)
			}
			w.Write(buf)
		}
		w.WriteByte('\n')
	}
}

// IsRequestError reports whether err is the request's fault (a 4xx): a
// bad query, target or argument, or a passed limit.
func IsRequestError(err error) bool {
	return IsQueryError(err) || target.IsError(err) || IsLimitError(err)
}

// IsTimeBudget reports whether err is the time budget running out.
func IsTimeBudget(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// nan is the null of the step grid.
var nan = math.NaN()
