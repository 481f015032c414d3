package graphiteweb

import (
	"math"
	"strconv"
	"strings"

	"metricsd/internal/protocol"
	"metricsd/internal/store"
)

// MaxDataPointsLimit caps maxDataPoints: the consolidator holds up to that
// many points of a series in memory to decide whether to consolidate, so a
// huge value must not make one request hold a huge buffer. Grafana asks for
// about one point per horizontal pixel.
const MaxDataPointsLimit = 1 << 20

// consolidator applies maxDataPoints to one series at a time. A series with
// at most max points in the range passes unchanged. A longer one is
// averaged over fixed buckets: width w seconds, aligned to multiples of w
// (so that a refreshed graph, and every series of a request, share bucket
// edges), with w the smallest width that gives at most max buckets over
// (From, Until]. Each bucket becomes one point stamped with its start (or
// From+1 for the first, partial bucket). NaN values are skipped in an
// average, as graphite-web skips nulls; a bucket of NaNs only is NaN.
type consolidator struct {
	max         int
	first, last int64 // the range of timestamps: From+1 .. Until
	width       int64
	emit        func(ts int64, v float64)

	buf       []store.Point // the series' points while at most max
	bucketing bool
	b         bucket
}

// bucket accumulates one consolidated point.
type bucket struct {
	index     int64
	points    int // points seen, NaN included
	n         int // non-NaN values summed
	sum       float64
	scaledSum float64 // sum of v * 2^-64, which can't overflow: used if sum did
	posInf    bool
	negInf    bool
}

// scaleDown keeps a scaled copy of the sum finite whatever the values.
const scaleDown = 0x1p-64

func (c *consolidator) init(req RenderRequest, emit func(ts int64, v float64)) {
	c.max = min(req.MaxDataPoints, MaxDataPointsLimit)
	c.first, c.last = req.From+1, req.Until
	c.emit = emit
	if c.max > 1 {
		// At most max buckets for any alignment: a range of span seconds
		// touches at most (span-1)/w + 2 buckets of width w. (With max 1,
		// the whole range is one bucket.)
		span := c.last - c.first + 1
		c.width = (span-1)/int64(c.max-1) + 1
	}
}

// add takes the series' next point, in ascending time order.
func (c *consolidator) add(p store.Point) {
	switch {
	case c.max == 0:
		c.emit(p.Timestamp, p.Value)
	case c.bucketing:
		c.addToBucket(p)
	case len(c.buf) < c.max:
		c.buf = append(c.buf, p)
	default:
		c.bucketing = true
		for _, q := range c.buf {
			c.addToBucket(q)
		}
		c.addToBucket(p)
	}
}

// finish writes what the series left pending and readies for the next.
func (c *consolidator) finish() {
	if c.bucketing {
		c.flushBucket()
	} else {
		for _, p := range c.buf {
			c.emit(p.Timestamp, p.Value)
		}
	}
	c.buf, c.bucketing, c.b = c.buf[:0], false, bucket{}
}

func (c *consolidator) bucketOf(ts int64) int64 {
	if c.max == 1 {
		return 0 // one bucket for the whole range, whatever its alignment
	}
	return floorDiv(ts, c.width)
}

func (c *consolidator) addToBucket(p store.Point) {
	i := c.bucketOf(p.Timestamp)
	if c.b.points > 0 && i != c.b.index {
		c.flushBucket()
	}
	c.b.index = i
	c.b.points++
	v := p.Value
	switch {
	case math.IsNaN(v):
	case math.IsInf(v, 1):
		c.b.posInf = true
	case math.IsInf(v, -1):
		c.b.negInf = true
	default:
		c.b.n++
		c.b.sum += v
		c.b.scaledSum += v * scaleDown
	}
}

func (c *consolidator) flushBucket() {
	b := &c.b
	if b.points == 0 {
		return
	}
	ts := c.first
	if c.max > 1 {
		ts = max(b.index*c.width, c.first)
	}
	c.emit(ts, b.average())
	*b = bucket{}
}

// average is the mean of the bucket's values, NaN skipped; an infinity
// wins over finite values, and both infinities give NaN.
func (b *bucket) average() float64 {
	switch {
	case b.posInf && b.negInf:
		return math.NaN()
	case b.posInf:
		return math.Inf(1)
	case b.negInf:
		return math.Inf(-1)
	case b.n == 0:
		return math.NaN()
	case math.IsInf(b.sum, 0):
		return b.scaledSum / float64(b.n) / scaleDown
	}
	return b.sum / float64(b.n)
}

// floorDiv divides rounding toward minus infinity, for timestamps before
// 1970.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func appendInt(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }

// appendCSVField appends s as Python's csv writer does (QUOTE_MINIMAL):
// quoted, with quotes doubled, only when it holds a comma, a quote or a
// line break.
func appendCSVField(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
	return append(dst, '"')
}

// appendCSVValue appends a value as Python's str(float): "nan" and "inf"
// stay as they are.
func appendCSVValue(dst []byte, v float64) []byte { return protocol.AppendFloat(dst, v) }
