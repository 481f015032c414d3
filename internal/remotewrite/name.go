package remotewrite

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"

	"metricsd/internal/tags"
)

// Reasons a series is refused, the label values of the dropped-samples
// counter.
const (
	ReasonNoName = "no_name"   // no __name__ label, or an empty one
	ReasonLabel  = "bad_label" // a label name carbon's tags cannot hold
	ReasonTags   = "bad_tags"  // the name carbon's tag syntax refuses
	ReasonNaN    = "nan_value" // a NaN sample (staleness markers too)
	ReasonStore  = "store"     // the storage refused the point
)

// RefusedError says why Name refused a series; Reason is one of the
// Reason constants.
type RefusedError struct{ Reason string }

// Error names the reason.
func (e *RefusedError) Error() string { return "remotewrite: series refused: " + e.Reason }

var (
	errNoName = &RefusedError{ReasonNoName}
	errLabel  = &RefusedError{ReasonLabel}
	errTags   = &RefusedError{ReasonTags}
)

// nameLabel is the label holding the metric name.
const nameLabel = "__name__"

// Namer maps series to their Graphite tagged names (see the package doc),
// reusing its buffers from series to series. It is not safe for
// concurrent use; the zero value is ready.
type Namer struct {
	raw, sorted []byte
}

// Name returns the name of the series with labels, valid until the next
// call, or a *RefusedError.
func (n *Namer) Name(labels []prompb.Label) ([]byte, error) {
	b := n.raw[:0]
	metric := ""
	for _, l := range labels {
		if l.Name == nameLabel {
			metric = l.Value
		}
	}
	if metric == "" {
		return nil, errNoName
	}
	b = append(b, metric...)
	for _, l := range labels {
		if l.Name == nameLabel || l.Value == "" {
			continue
		}
		if l.Name == "" || strings.ContainsAny(l.Name, ";!^=") {
			return nil, errLabel
		}
		b = append(b, ';')
		if l.Name == "name" {
			b = append(b, "exported_"...)
		}
		b = append(append(b, l.Name...), '=')
		b = appendValue(b, l.Value)
	}
	n.raw = b
	out, err := tags.AppendNormalized(n.sorted, b)
	if err != nil {
		return nil, errTags
	}
	if &out[0] != &b[0] {
		n.sorted = out // the sorted copy: keep its buffer for the next series
	}
	return out, nil
}

// appendValue appends a label value sanitized for carbon: ";" and
// whitespace become "_", and so does a leading "~". Bytes that are not
// UTF-8 are copied as they are (a rune's width is taken from the bytes,
// not from the replacement character they decode to).
func appendValue(b []byte, v string) []byte {
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == ';' || unicode.IsSpace(r) || (i == 0 && r == '~') {
			b = append(b, '_')
		} else {
			b = append(b, v[i:i+size]...)
		}
		i += size
	}
	return b
}

// ReasonOf returns the reason of a Name error.
func ReasonOf(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ReasonStore
}
