package graphite

import (
	"errors"
	"math"

	"metricsd/internal/protocol"
	"metricsd/internal/tags"
)

// Reasons a plaintext line is dropped. Each is a label value of the
// dropped-lines counter, so they are short, stable and snake_case.
const (
	ReasonFormat    = "format"        // not exactly three tokens
	ReasonUTF8      = "invalid_utf8"  // not valid UTF-8 (carbon decodes lines as UTF-8)
	ReasonValue     = "bad_value"     // value is not a Python float()
	ReasonTimestamp = "bad_timestamp" // timestamp is not a number, or out of range
	ReasonNaN       = "nan_value"     // value is NaN, which carbon filters out
	ReasonTooLong   = "too_long"      // longer than the line limit
	ReasonTags      = "bad_tags"      // a tagged path carbon's tag syntax refuses (internal/tags)
	ReasonStore     = "store"         // the storage refused the point
	ReasonFuture    = "future"        // further ahead of the clock than --max-future
)

// LineError is returned by ParseLine: Reason says why the line is dropped,
// and is the label of the dropped-lines counter.
type LineError struct {
	Reason string
}

// Error names the reason the line was dropped.
func (e *LineError) Error() string { return "graphite: line dropped: " + e.Reason }

// The LineErrors ParseLine returns, one per reason, so that parsing a bad
// line does not allocate.
var (
	errFormat    = &LineError{ReasonFormat}
	errUTF8      = &LineError{ReasonUTF8}
	errValue     = &LineError{ReasonValue}
	errTimestamp = &LineError{ReasonTimestamp}
	errNaN       = &LineError{ReasonNaN}
	errTags      = &LineError{ReasonTags}
)

// ReasonOf returns the drop reason of err: a LineError's own, or
// ReasonStore for any other error (a Put that failed).
func ReasonOf(err error) string {
	var le *LineError
	if errors.As(err, &le) {
		return le.Reason
	}
	return ReasonStore
}

// Line is one parsed plaintext line. Path is the series key: a view into
// the parsed line, or into the Line's own buffer when normalizing the tags
// reordered them; either way it is valid until the next ParseLine.
type Line struct {
	Path      []byte
	Value     float64
	Timestamp int64 // Unix seconds; meaningless when Now is set
	Now       bool  // the line asked for the time of arrival ("-1" or "N")

	buf []byte // holds a normalized path; reused from line to line
}

// maxLineTokens is the size of the token array: a line has three tokens, and
// the fourth slot only has to exist for "too many" to be counted.
const maxLineTokens = 4

// ParseLine parses "<path> <value> <timestamp>" the way carbon's plaintext
// receiver does: the line is split as Python's str.split() splits (so "\r\n"
// endings, tabs and repeated spaces are fine), the value is Python's float(),
// and the timestamp is float() too, truncated toward zero to whole seconds
// as int() does. A timestamp whose integer part is -1 (carbon's convention)
// or the token "N" (rrdtool's and collectd's) sets Now instead. NaN values are
// refused with ReasonNaN, as carbon drops them. Integer timestamps are parsed
// exactly, so any int64 survives; carbon's float() would round those above
// 2^53.
//
// The path is normalized as carbon 1.1 normalizes tagged names
// (internal/tags: "cpu;host=a;dc=eu" is stored as "cpu;dc=eu;host=a", and a
// leading "~" is removed); a path carbon's tag syntax refuses is dropped
// with ReasonTags. Carbon logs such a name and writes it un-normalized, but
// its tag database refuses it; metricsd stores only names it can index.
//
// ParseLine is pure and does not allocate for an untagged path or one whose
// tags are already in order; l.Path points into line, or into l's buffer.
func ParseLine(line []byte, l *Line) error {
	*l = Line{buf: l.buf}
	var toks [maxLineTokens][]byte
	n, err := protocol.Split(line, toks[:])
	switch {
	case err != nil:
		return errUTF8
	case n != 3:
		return errFormat
	}
	v, err := protocol.ParseFloat(toks[1])
	switch {
	case err != nil:
		return errValue
	case math.IsNaN(v):
		return errNaN
	}
	ts, now, err := parseTimestamp(toks[2])
	if err != nil {
		return err
	}
	path, err := tags.AppendNormalized(l.buf, toks[0])
	if err != nil {
		return errTags
	}
	if len(path) > 0 && len(toks[0]) > 0 && &path[0] != &toks[0][0] {
		l.buf = path // keep the grown buffer for the next line
	}
	l.Path, l.Value, l.Timestamp, l.Now = path, v, ts, now
	return nil
}

// parseTimestamp reads a timestamp token: an integer exactly, anything else
// through float() and truncation.
func parseTimestamp(tok []byte) (ts int64, now bool, err error) {
	if len(tok) == 1 && tok[0] == 'N' {
		return 0, true, nil
	}
	if i, err := protocol.ParseInt(tok); err == nil {
		return i, i == -1, nil
	}
	f, err := protocol.ParseFloat(tok)
	// ±2^63 are exact in float64: [-2^63, 2^63) is what truncates into an
	// int64. The negated test also refuses NaN.
	if err != nil || !(f >= -(1<<63) && f < 1<<63) {
		return 0, false, errTimestamp
	}
	ts = int64(f) // Go truncates toward zero, as Python's int() does
	return ts, ts == -1, nil
}
