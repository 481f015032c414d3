package target

import (
	"math"
	"strconv"
	"time"
)

func transformFuncs() []*Func {
	// mapValues declares a function that rewrites each value, renames the
	// series "<name>(<series>)" and tags it <name>=1.
	mapValues := func(name string, f func(float64) float64) *Func {
		return &Func{Name: name, Group: "Transform", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				for _, s := range c.list(0) {
					s.Tags.Set(name, "1")
					s.Name = name + "(" + s.Name + ")"
					s.PathExpression = s.Name
					setValues(s, f)
				}
				return c.list(0), nil
			}}
	}
	return []*Func{
		{Name: "scale", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("factor", TypeFloat)},
			eval: func(c *call) (SeriesList, error) {
				f := c.num(1)
				for _, s := range c.list(0) {
					s.Tags.Set("scale", f.String())
					s.Name = "scale(" + s.Name + "," + pyG(f.V) + ")"
					s.PathExpression = s.Name
					setValues(s, func(v float64) float64 { return safeMul(v, f.V) })
				}
				return c.list(0), nil
			}},
		{Name: "offset", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("factor", TypeFloat)},
			eval: func(c *call) (SeriesList, error) {
				f := c.num(1)
				for _, s := range c.list(0) {
					s.Tags.Set("offset", f.String())
					s.Name = "offset(" + s.Name + "," + pyG(f.V) + ")"
					s.PathExpression = s.Name
					setValues(s, func(v float64) float64 { return v + f.V })
				}
				return c.list(0), nil
			}},
		mapValues("absolute", math.Abs),
		mapValues("invert", func(v float64) float64 {
			r := math.Pow(v, -1)
			if math.IsInf(r, 0) || math.IsNaN(r) {
				return null // Python's math.pow(0, -1) raises: safePow gives None
			}
			return r
		}),
		{Name: "transformNull", Group: "Transform", Params: []Param{seriesParam("seriesList"), opt("default", TypeFloat, intNum(0)), opt("referenceSeries", TypeSeriesList, nil)},
			eval: evalTransformNull},
		{Name: "keepLastValue", Group: "Transform", Params: []Param{seriesParam("seriesList"), opt("limit", TypeIntOrInf, Num{V: inf})},
			eval: evalKeepLastValue},
		{Name: "timeShift", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("timeShift", TypeInterval), opt("resetEnd", TypeBoolean, true), opt("alignDst", TypeBoolean, false)},
			eval: evalTimeShift},
		{Name: "summarize", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("intervalString", TypeInterval), opt("func", TypeAggFunc, "sum"), opt("alignToFrom", TypeBoolean, false)},
			eval: evalSummarize},
		{Name: "smartSummarize", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("intervalString", TypeInterval), opt("func", TypeAggFunc, "sum"), opt("alignTo", TypeAny, nil)},
			eval: evalSmartSummarize},
		{Name: "hitcount", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("intervalString", TypeInterval), opt("alignToInterval", TypeBoolean, false)},
			eval: evalHitcount},
		{Name: "delay", Group: "Transform", Params: []Param{seriesParam("seriesList"), req("steps", TypeInteger)},
			eval: evalDelay},
		{Name: "derivative", Group: "Transform", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				return deltas(c.list(0), "derivative", func(v, prev float64) (float64, float64) {
					if IsNull(v) || IsNull(prev) {
						return null, v
					}
					return v - prev, v
				}), nil
			}},
		{Name: "nonNegativeDerivative", Group: "Transform", Params: []Param{seriesParam("seriesList"), opt("maxValue", TypeFloat, nil), opt("minValue", TypeFloat, nil)},
			eval: func(c *call) (SeriesList, error) {
				maxV, minV := optFloat(c, 1), optFloat(c, 2)
				return deltas(c.list(0), "nonNegativeDerivative", func(v, prev float64) (float64, float64) {
					return nonNegativeDelta(v, prev, maxV, minV)
				}), nil
			}},
		{Name: "perSecond", Group: "Transform", Params: []Param{seriesParam("seriesList"), opt("maxValue", TypeFloat, nil), opt("minValue", TypeFloat, nil)},
			eval: evalPerSecond},
		{Name: "integral", Group: "Transform", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				var out SeriesList
				for _, s := range c.list(0) {
					pts := s.Points()
					vals := make([]float64, len(pts))
					cur := 0.0
					for i, v := range pts {
						if IsNull(v) {
							vals[i] = null
							continue
						}
						cur += v
						vals[i] = cur
					}
					s.Tags.Set("integral", "1")
					out = append(out, s.copyWith("integral("+s.Name+")", s.Start, s.End, s.Step, vals))
				}
				return out, nil
			}},
	}
}

// setValues applies f to every non-null value, in place.
func setValues(s *Series, f func(float64) float64) {
	for i, v := range s.Values {
		if !IsNull(v) {
			s.Values[i] = f(v)
		}
	}
}

// optFloat returns an optional float parameter, NaN when absent.
func optFloat(c *call, i int) float64 {
	if !c.has(i) {
		return null
	}
	return c.num(i).V
}

func evalTransformNull(c *call) (SeriesList, error) {
	def := c.num(1)
	ref := c.list(2)
	var defaults []float64
	if len(ref) > 0 {
		rows(ref, func(row []float64) {
			d := null
			for _, v := range row {
				if !IsNull(v) {
					d = def.V
					break
				}
			}
			defaults = append(defaults, d)
		})
	}
	for _, s := range c.list(0) {
		s.Tags.Set("transformNull", def.String())
		if len(ref) > 0 {
			s.Tags.Set("referenceSeries", "1")
			s.Name = "transformNull(" + s.Name + "," + pyG(def.V) + ",referenceSeries)"
		} else {
			s.Name = "transformNull(" + s.Name + "," + pyG(def.V) + ")"
		}
		s.PathExpression = s.Name
		pts := s.Points()
		vals := make([]float64, len(pts))
		for i, v := range pts {
			switch {
			case !IsNull(v):
				vals[i] = v
			case defaults != nil:
				vals[i] = null
				if i < len(defaults) {
					vals[i] = defaults[i]
				}
			default:
				vals[i] = def.V
			}
		}
		s.Values, s.ValuesPerPoint = vals, 1
	}
	return c.list(0), nil
}

func evalKeepLastValue(c *call) (SeriesList, error) {
	limit := c.num(1).V
	for _, s := range c.list(0) {
		s.Name = "keepLastValue(" + s.Name + ")"
		s.PathExpression = s.Name
		vals := s.Values
		nones, last, haveLast := 0, 0.0, false
		for i, v := range vals {
			if IsNull(v) {
				nones++
				continue
			}
			if nones > 0 && float64(nones) <= limit && haveLast {
				for j := i - nones; j < i; j++ {
					vals[j] = last
				}
			}
			nones, last, haveLast = 0, v, true
		}
		if nones > 0 && float64(nones) <= limit && haveLast {
			for j := len(vals) - nones; j < len(vals); j++ {
				vals[j] = last
			}
		}
	}
	return c.list(0), nil
}

func evalTimeShift(c *call) (SeriesList, error) {
	shift := c.str(1)
	if shift != "" && shift[0] >= '0' && shift[0] <= '9' {
		shift = "-" + shift
	}
	delta, _ := ParseInterval(shift)
	list := c.list(0)
	if len(list) == 0 {
		return nil, nil
	}
	orig := list[0]
	shifted, err := c.reeval(c.ctx.From+delta, c.ctx.Until+delta)
	if err != nil {
		return nil, err
	}
	for _, s := range shifted {
		s.Tags.Set("timeShift", shift)
		s.Name = "timeShift(" + s.Name + ", \"" + shift + "\")"
		if c.boolean(2) {
			s.End = orig.End
		} else {
			s.End = s.End - s.Start + orig.Start
		}
		s.Start = orig.Start
	}
	return shifted, nil
}

// summarizeValues is graphite-web's _summarizeValues: the series'
// values aggregated over buckets of interval seconds from newStart to
// newEnd. It returns the values and the end of the last bucket.
func summarizeValues(s *Series, agg aggregation, interval, newStart, newEnd int64) ([]float64, int64) {
	pts := s.Points()
	var timestamps []int64
	for ts := s.Start; ts < s.End; ts += s.Step {
		timestamps = append(timestamps, ts)
	}
	intervalPoints := float64(interval) / float64(s.Step)
	numPoints := min(len(timestamps), len(pts))
	var out []float64
	i := 0
	ts := newStart
	for ; ts < newEnd; ts += interval {
		start := i
		n := 0
		for i < numPoints && timestamps[i] < ts+interval {
			if timestamps[i] <= ts {
				start = i
			}
			if timestamps[i] >= ts && !IsNull(pts[i]) {
				n++
			}
			i++
		}
		if n > 0 && intervalPoints > 0 && float64(n)/intervalPoints >= s.XFilesFactor {
			out = append(out, agg(pts[start:i]))
		} else {
			out = append(out, null)
		}
	}
	return out, ts
}

func evalSummarize(c *call) (SeriesList, error) {
	intervalString, fn, alignToFrom := c.str(1), c.str(2), c.boolean(3)
	interval, _ := ParseInterval(intervalString)
	if interval <= 0 {
		return nil, c.errorf("intervalString", "must be a positive interval")
	}
	agg, _ := aggFunc(fn)
	var out SeriesList
	for _, s := range c.list(0) {
		newStart, newEnd := s.Start, s.End
		if !alignToFrom {
			newStart = s.Start - pyMod(s.Start, interval)
			newEnd = s.End - pyMod(s.End, interval) + interval
		}
		vals, alignedEnd := summarizeValues(s, agg, interval, newStart, newEnd)
		if alignToFrom {
			newEnd = alignedEnd
		}
		s.Tags.Set("summarize", intervalString)
		s.Tags.Set("summarizeFunction", fn)
		suffix := ""
		if alignToFrom {
			suffix = ", true"
		}
		name := "summarize(" + s.Name + ", \"" + intervalString + "\", \"" + fn + "\"" + suffix + ")"
		out = append(out, s.copyWith(name, newStart, newEnd, interval, vals))
	}
	return out, nil
}

// pyMod is Python's a % b for a positive b: never negative.
func pyMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func evalSmartSummarize(c *call) (SeriesList, error) {
	intervalString, fn := c.str(1), c.str(2)
	interval, _ := ParseInterval(intervalString)
	if interval <= 0 {
		return nil, c.errorf("intervalString", "must be a positive interval")
	}
	agg, _ := aggFunc(fn)
	list := c.list(0)
	if alignTo, ok := c.args[3].(string); ok {
		from, err := alignStart(c.ctx.From, alignTo)
		if err != nil {
			return nil, c.errorf("alignTo", "%v", err)
		}
		if list, err = c.reeval(from, c.ctx.Until); err != nil {
			return nil, err
		}
	}
	var out SeriesList
	for _, s := range list {
		vals, alignedEnd := summarizeValues(s, agg, interval, s.Start, s.End)
		s.Tags.Set("smartSummarize", intervalString)
		s.Tags.Set("smartSummarizeFunction", fn)
		name := "smartSummarize(" + s.Name + ", \"" + intervalString + "\", \"" + fn + "\")"
		out = append(out, s.copyWith(name, s.Start, alignedEnd, interval, vals))
	}
	return out, nil
}

// alignStart truncates from to the unit of alignTo (UTC), as
// smartSummarize's alignTo does: "1y", "months", "weeks" (optionally
// "weeks4", the ISO weekday to start on), "d", "h", "min", "s".
func alignStart(from int64, alignTo string) (int64, error) {
	t := time.Unix(from, 0).UTC()
	letters := leadingRun(trimDigits(alignTo), func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
	unit := trimDigits(alignTo)[:letters]
	y, m, d := t.Date()
	switch {
	case hasPrefix(unit, "s"):
		return from, nil
	case hasPrefix(unit, "min"):
		return time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, time.UTC).Unix(), nil
	case hasPrefix(unit, "h"):
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, time.UTC).Unix(), nil
	case hasPrefix(unit, "d"):
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), nil
	case hasPrefix(unit, "w"):
		want := 1
		if last := alignTo[len(alignTo)-1]; last >= '0' && last <= '9' {
			want = int(last - '0')
		}
		iso := int(t.Weekday())
		if iso == 0 {
			iso = 7
		}
		back := iso - want
		if back < 0 {
			back += 7
		}
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC).Unix(), nil
	case hasPrefix(unit, "mon"):
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix(), nil
	case hasPrefix(unit, "y"):
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), nil
	}
	return 0, strconv.ErrSyntax
}

func trimDigits(s string) string {
	for s != "" && s[0] >= '0' && s[0] <= '9' {
		s = s[1:]
	}
	return s
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func evalHitcount(c *call) (SeriesList, error) {
	intervalString, align := c.str(1), c.boolean(2)
	interval, _ := ParseInterval(intervalString)
	if interval <= 0 {
		return nil, c.errorf("intervalString", "must be a positive interval")
	}
	list := c.list(0)
	if align {
		t := time.Unix(c.ctx.From, 0).UTC()
		y, m, d := t.Date()
		from := c.ctx.From
		switch {
		case interval >= 86400:
			from = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
		case interval >= 3600:
			from = time.Date(y, m, d, t.Hour(), 0, 0, 0, time.UTC).Unix()
		case interval >= 60:
			from = time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, time.UTC).Unix()
		}
		var err error
		if list, err = c.reeval(from, c.ctx.Until); err != nil {
			return nil, err
		}
		for _, s := range list {
			count := (s.End - s.Start) / interval
			s.End = s.Start + count*interval + interval
		}
	}
	var out SeriesList
	for _, s := range list {
		step := s.Step
		buckets := int((s.End - s.Start + interval - 1) / interval)
		sums := make([]float64, buckets)
		have := make([]bool, buckets)
		add := func(b int64, v float64) {
			sums[b] += v
			have[b] = true
		}
		newStart := s.End - int64(buckets)*interval
		for i, v := range s.Points() {
			if IsNull(v) {
				continue
			}
			startTime := s.Start + int64(i)*step
			sb, sm := floorDivMod(startTime-newStart, interval)
			eb, em := floorDivMod(startTime+step-newStart, interval)
			if eb >= int64(buckets) {
				eb, em = int64(buckets)-1, interval
			}
			if sb == eb {
				if sb >= 0 {
					add(sb, v*float64(em-sm))
				}
				continue
			}
			if sb >= 0 {
				add(sb, v*float64(interval-sm))
			}
			for j := sb + 1; j < eb; j++ {
				add(j, v*float64(interval))
			}
			if em > 0 {
				add(eb, v*float64(em))
			}
		}
		vals := make([]float64, buckets)
		for i := range vals {
			vals[i] = null
			if have[i] {
				vals[i] = sums[i]
			}
		}
		s.Tags.Set("hitcount", intervalString)
		suffix := ""
		if align {
			suffix = ", true"
		}
		out = append(out, s.copyWith("hitcount("+s.Name+", \""+intervalString+"\""+suffix+")", newStart, s.End, interval, vals))
	}
	return out, nil
}

// floorDivMod is Python's divmod for a positive divisor.
func floorDivMod(a, b int64) (int64, int64) {
	q, r := a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	return q, r
}

func evalDelay(c *call) (SeriesList, error) {
	steps := int(c.num(1).V)
	var out SeriesList
	for _, s := range c.list(0) {
		n := len(s.Values)
		vals := make([]float64, 0, n)
		if steps < 0 {
			k := min(-steps, n)
			vals = append(vals, s.Values[k:]...)
			for range k {
				vals = append(vals, null)
			}
		} else {
			k := min(steps, n)
			for range k {
				vals = append(vals, null)
			}
			if steps == 0 {
				// Python's series[:-0] is empty.
			} else {
				vals = append(vals, s.Values[:n-k]...)
			}
		}
		s.Tags.Set("delay", strconv.Itoa(steps))
		out = append(out, s.copyWith("delay("+s.Name+","+strconv.Itoa(steps)+")", s.Start, s.End, s.Step, vals))
	}
	return out, nil
}

// deltas builds derivative-like series: f maps (value, previous) to
// (delta, new previous).
func deltas(list SeriesList, name string, f func(v, prev float64) (float64, float64)) SeriesList {
	var out SeriesList
	for _, s := range list {
		pts := s.Points()
		vals := make([]float64, len(pts))
		prev := null
		for i, v := range pts {
			vals[i], prev = f(v, prev)
		}
		s.Tags.Set(name, "1")
		out = append(out, s.copyWith(name+"("+s.Name+")", s.Start, s.End, s.Step, vals))
	}
	return out
}

// nonNegativeDelta is graphite-web's _nonNegativeDelta: the increase of
// a counter, through a wrap when maxValue or minValue says how.
func nonNegativeDelta(v, prev, maxV, minV float64) (float64, float64) {
	if !IsNull(maxV) && !IsNull(v) && v > maxV {
		return null, null
	}
	if !IsNull(minV) && !IsNull(v) && v < minV {
		return null, null
	}
	if IsNull(prev) || IsNull(v) {
		return null, v
	}
	if v >= prev {
		return v - prev, v
	}
	if !IsNull(maxV) {
		m := 0.0
		if !IsNull(minV) {
			m = minV
		}
		return maxV + 1 + v - prev - m, v
	}
	if !IsNull(minV) {
		return v - minV, v
	}
	return null, v
}

func evalPerSecond(c *call) (SeriesList, error) {
	maxV, minV := optFloat(c, 1), optFloat(c, 2)
	var out SeriesList
	for _, s := range c.list(0) {
		pts := s.Points()
		vals := make([]float64, len(pts))
		prev := null
		for i, v := range pts {
			var d float64
			d, prev = nonNegativeDelta(v, prev, maxV, minV)
			if IsNull(d) {
				vals[i] = null
				continue
			}
			vals[i] = roundTo6(d / float64(s.Step))
		}
		s.Tags.Set("perSecond", "1")
		out = append(out, s.copyWith("perSecond("+s.Name+")", s.Start, s.End, s.Step, vals))
	}
	return out, nil
}

// roundTo6 is Python's round(v, 6): correctly rounded from the exact
// binary value, as strconv's fixed formatting is.
func roundTo6(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 6, 64), 64)
	if err != nil {
		return v
	}
	return r
}
