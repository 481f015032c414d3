package target

import (
	"math"
	"strconv"

	"metricsd/internal/protocol"
)

// Series is one time series of an evaluation, as graphite-web's
// TimeSeries: Values[i] is the value of the slot Start+i*Step; a slot
// holds the values of [ts, ts+Step). NaN is null (graphite-web's None).
// End is exclusive: there are (End-Start)/Step slots.
//
// ValuesPerPoint above 1 means the series is read consolidated (see
// Points): graphite-web sets it when series of different steps are
// combined, and when maxDataPoints applies.
type Series struct {
	Name           string
	Tags           Tags
	PathExpression string
	Start, End     int64
	Step           int64
	Values         []float64

	ValuesPerPoint    int
	ConsolidationFunc string // "average" unless consolidateBy changed it
	XFilesFactor      float64
}

// SeriesList is what a path expression or a series function gives.
type SeriesList []*Series

// NewSeries returns a series with graphite-web's defaults: tags
// {"name": name}, the path expression its name, consolidation by average.
func NewSeries(name string, start, end, step int64, values []float64) *Series {
	return &Series{
		Name: name, Tags: Tags{{"name", name}}, PathExpression: name,
		Start: start, End: end, Step: step, Values: values,
		ValuesPerPoint: 1, ConsolidationFunc: "average",
	}
}

// copyWith returns a copy of s (tags copied) with new values and time
// bounds, as TimeSeries.copy does.
func (s *Series) copyWith(name string, start, end, step int64, values []float64) *Series {
	c := *s
	c.Name, c.Start, c.End, c.Step, c.Values = name, start, end, step, values
	c.Tags = s.Tags.Clone()
	c.ValuesPerPoint = 1
	c.PathExpression = name
	return &c
}

// IsNull reports whether a value is graphite-web's None.
func IsNull(v float64) bool { return math.IsNaN(v) }

// null is the value stored for None.
var null = math.NaN()

var inf = math.Inf(1)

// Points returns the values as graphite-web iterates them: consolidated
// by ConsolidationFunc over ValuesPerPoint slots when that is above 1
// (a bucket is null unless at least XFilesFactor of its slots have a
// value). The slice may be s.Values itself: don't modify it.
func (s *Series) Points() []float64 {
	vpp := s.ValuesPerPoint
	if vpp <= 1 {
		return s.Values
	}
	out := make([]float64, 0, (len(s.Values)+vpp-1)/vpp)
	cf := consolidationFuncs[s.ConsolidationFunc]
	buf := make([]float64, 0, vpp)
	for i := 0; i < len(s.Values); i += vpp {
		chunk := s.Values[i:min(i+vpp, len(s.Values))]
		buf = buf[:0]
		for _, v := range chunk {
			if !IsNull(v) {
				buf = append(buf, v)
			} else if s.ConsolidationFunc == "avg_zero" {
				buf = append(buf, 0)
			}
		}
		nonNull := 0
		for _, v := range chunk {
			if !IsNull(v) {
				nonNull++
			}
		}
		if nonNull > 0 && float64(nonNull)/float64(vpp) >= s.XFilesFactor && cf != nil {
			out = append(out, cf(buf))
		} else {
			out = append(out, null)
		}
	}
	return out
}

// consolidationFuncs are TimeSeries' consolidation functions, applied to
// the non-null values of a bucket (never empty).
var consolidationFuncs = map[string]func([]float64) float64{
	"sum":      pySum,
	"average":  func(v []float64) float64 { return pySum(v) / float64(len(v)) },
	"avg_zero": func(v []float64) float64 { return pySum(v) / float64(len(v)) },
	"avg":      func(v []float64) float64 { return pySum(v) / float64(len(v)) },
	"max":      pyMax,
	"min":      pyMin,
	"first":    func(v []float64) float64 { return v[0] },
	"last":     func(v []float64) float64 { return v[len(v)-1] },
}

// pySum adds left to right, as Python's sum() does.
func pySum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func pyMax(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		if x > m {
			m = x
		}
	}
	return m
}

func pyMin(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		if x < m {
			m = x
		}
	}
	return m
}

// Tags are a series' tags in insertion order, as graphite-web's Tags
// dict keeps them; values are strings (graphite-web stores str(value)).
type Tags []Tag

// Tag is one tag.
type Tag struct{ Key, Value string }

// Get returns the value of key.
func (t Tags) Get(key string) (string, bool) {
	for _, tag := range t {
		if tag.Key == key {
			return tag.Value, true
		}
	}
	return "", false
}

// Set sets key to value, in place if present, else at the end.
func (t *Tags) Set(key, value string) {
	for i := range *t {
		if (*t)[i].Key == key {
			(*t)[i].Value = value
			return
		}
	}
	*t = append(*t, Tag{key, value})
}

// Clone returns a copy.
func (t Tags) Clone() Tags { return append(Tags(nil), t...) }

// Num is a number argument: graphite-web keeps integers and floats apart
// (Python int and float), which shows in names ("scale(a,2)") and tags.
type Num struct {
	V   float64
	Int bool
}

// String is Python's str() of the number: "5" for an int, "5.0" or
// "1e-05" for a float, "inf".
func (n Num) String() string {
	if n.Int && !math.IsInf(n.V, 0) && math.Abs(n.V) < 1<<63 {
		return strconv.FormatInt(int64(n.V), 10)
	}
	return string(protocol.AppendFloat(nil, n.V))
}

// pyG formats v as Python's "%g": six significant digits, trailing zeros
// dropped, an exponent of at least two digits outside [1e-4, 1e6).
func pyG(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// pyRepr is Python's repr() of a float.
func pyRepr(v float64) string { return string(protocol.AppendFloat(nil, v)) }
