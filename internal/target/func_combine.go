package target

import (
	"math"
	"slices"
	"strings"
)

func combineFuncs() []*Func {
	aggregator := func(name, fn string) *Func {
		return &Func{Name: name, Group: "Combine", Params: []Param{seriesListsParam()}, Aggregator: true,
			eval: func(c *call) (SeriesList, error) { return aggregate(c.lists(), fn, 0), nil }}
	}
	return []*Func{
		aggregator("sumSeries", "sum"),
		aggregator("sum", "sum"),
		aggregator("averageSeries", "average"),
		aggregator("avg", "average"),
		aggregator("maxSeries", "max"),
		aggregator("minSeries", "min"),
		aggregator("diffSeries", "diff"),
		aggregator("stddevSeries", "stddev"),
		aggregator("rangeOfSeries", "rangeOf"),
		{Name: "multiplySeries", Group: "Combine", Params: []Param{seriesListsParam()}, Aggregator: true,
			eval: func(c *call) (SeriesList, error) {
				lists := c.lists()
				if len(lists) == 1 && len(lists[0]) == 1 {
					return lists[0], nil
				}
				return aggregate(lists, "multiply", 0), nil
			}},
		{Name: "countSeries", Group: "Combine", Params: []Param{multi("seriesLists", TypeSeriesList, false)}, Aggregator: true,
			eval: evalCountSeries},
		{Name: "aggregate", Group: "Combine", Params: []Param{seriesParam("seriesList"), req("func", TypeAggFunc), opt("xFilesFactor", TypeFloat, nil)},
			eval: func(c *call) (SeriesList, error) {
				return aggregate([]SeriesList{c.list(0)}, c.str(1), c.num(2).V), nil
			}},
		{Name: "percentileOfSeries", Group: "Combine", Params: []Param{seriesParam("seriesList"), req("n", TypeFloat), opt("interpolate", TypeBoolean, false)},
			eval: evalPercentileOfSeries},
		{Name: "asPercent", Group: "Combine", Params: []Param{seriesParam("seriesList"), opt("total", TypeAny, nil), multi("nodes", TypeNodeOrTag, false)}, Aggregator: true,
			eval: evalAsPercent},
		{Name: "divideSeries", Group: "Combine", Params: []Param{seriesParam("dividendSeriesList"), seriesParam("divisorSeries")},
			eval: evalDivideSeries},
		{Name: "groupByNode", Group: "Combine", Params: []Param{seriesParam("seriesList"), req("nodeNum", TypeNodeOrTag), opt("callback", TypeAggOrSeriesFunc, "average")},
			eval: func(c *call) (SeriesList, error) {
				return groupByNodes(c, c.list(0), c.str(2), []Value{c.args[1]})
			}},
		{Name: "groupByNodes", Group: "Combine", Params: []Param{seriesParam("seriesList"), req("callback", TypeAggOrSeriesFunc), multi("nodes", TypeNodeOrTag, false)},
			eval: func(c *call) (SeriesList, error) {
				return groupByNodes(c, c.list(0), c.str(1), c.rest)
			}},
		{Name: "group", Group: "Combine", Params: []Param{multi("seriesLists", TypeSeriesList, false)},
			eval: func(c *call) (SeriesList, error) {
				var out SeriesList
				for _, l := range c.lists() {
					out = append(out, l...)
				}
				return out, nil
			}},
	}
}

// lcm is the least common multiple of two steps.
func lcm(a, b int64) int64 {
	if a == b {
		return a
	}
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// normalize brings series of different steps to their least common
// step, as graphite-web's normalize: each series is consolidated to it
// (ValuesPerPoint), and the common range is from the earliest start to
// the latest end, cut to a whole number of steps. ok is false for no
// series.
func normalize(lists ...SeriesList) (all SeriesList, start, end, step int64, ok bool) {
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return nil, 0, 0, 0, false
	}
	step = all[0].Step
	for _, s := range all[1:] {
		step = lcm(step, s.Step)
	}
	start, end = all[0].Start, all[0].End
	for _, s := range all {
		s.ValuesPerPoint = int(step / s.Step)
		start, end = min(start, s.Start), max(end, s.End)
	}
	end -= (end - start) % step
	return all, start, end, step, true
}

// rows calls fn with each row of the series' (consolidated) values, as
// Python's zip_longest: row i holds every series' i-th value, null past
// a shorter series' end.
func rows(list SeriesList, fn func(row []float64)) {
	cols := make([][]float64, len(list))
	n := 0
	for i, s := range list {
		cols[i] = s.Points()
		n = max(n, len(cols[i]))
	}
	row := make([]float64, len(list))
	for i := range n {
		for j, col := range cols {
			if i < len(col) {
				row[j] = col[i]
			} else {
				row[j] = null
			}
		}
		fn(row)
	}
}

// formatPathExpressions joins the distinct path expressions of the
// series, in order, with commas: the argument part of an aggregate's
// name.
func formatPathExpressions(list SeriesList) string {
	var seen []string
	for _, s := range list {
		if !slices.Contains(seen, s.PathExpression) {
			seen = append(seen, s.PathExpression)
		}
	}
	return strings.Join(seen, ",")
}

// xffOK is graphite-web's xff: some values, and at least xff of them.
func xffOK(nonNull, total int, xff float64) bool {
	if nonNull == 0 || total == 0 {
		return false
	}
	return float64(nonNull)/float64(total) >= xff
}

// aggregate is graphite-web's aggregate: one series, named
// "<fn>Series(<paths>)", each slot the aggregation of the series' slot
// values, tagged with the tags every series shares plus aggregatedBy.
func aggregate(lists []SeriesList, fn string, xff float64) SeriesList {
	fn = strings.TrimSuffix(fn, "Series")
	agg, ok := aggFunc(fn)
	if !ok {
		return nil
	}
	all, start, end, step, ok := normalize(lists...)
	if !ok {
		return nil
	}
	name := fn + "Series(" + formatPathExpressions(all) + ")"
	values := make([]float64, 0, (end-start)/step)
	rows(all, func(row []float64) {
		n := 0
		for _, v := range row {
			if !IsNull(v) {
				n++
			}
		}
		if xffOK(n, len(row), xff) {
			values = append(values, agg(row))
		} else {
			values = append(values, null)
		}
	})
	tags := commonTags(all)
	if _, ok := tags.Get("name"); !ok {
		tags.Set("name", name)
	}
	tags.Set("aggregatedBy", fn)
	s := NewSeries(name, start, end, step, values)
	s.Tags = tags
	s.XFilesFactor = xff
	return SeriesList{s}
}

// commonTags returns the tags of the first series that every series has
// with the same value.
func commonTags(list SeriesList) Tags {
	var out Tags
	for _, t := range list[0].Tags {
		same := true
		for _, s := range list[1:] {
			if v, ok := s.Tags.Get(t.Key); !ok || v != t.Value {
				same = false
				break
			}
		}
		if same {
			out = append(out, t)
		}
	}
	return out
}

func evalCountSeries(c *call) (SeriesList, error) {
	all, start, end, step, ok := normalize(c.lists()...)
	if !ok {
		s := constantLine(c.ctx, Num{V: 0, Int: true})
		s.PathExpression = "countSeries()"
		return SeriesList{s}, nil
	}
	name := "countSeries(" + formatPathExpressions(all) + ")"
	var values []float64
	rows(all, func(row []float64) { values = append(values, float64(len(row))) })
	return SeriesList{NewSeries(name, start, end, step, values)}, nil
}

func evalPercentileOfSeries(c *call) (SeriesList, error) {
	n, interpolate := c.num(1), c.boolean(2)
	if n.V <= 0 {
		return nil, c.errorf("n", "the requested percent must be greater than 0")
	}
	list := c.list(0)
	if len(list) == 0 {
		return nil, nil
	}
	name := "percentileOfSeries(" + list[0].PathExpression + "," + pyG(n.V) + ")"
	_, start, end, step, _ := normalize(list)
	var values []float64
	rows(list, func(row []float64) { values = append(values, percentile(row, n.V, interpolate)) })
	return SeriesList{NewSeries(name, start, end, step, values)}, nil
}

// percentile is graphite-web's _getPercentile (NIST's method): the
// value at rank n/100*(N+1) of the sorted non-null values, rounded up, or
// interpolated with the next value.
func percentile(row []float64, n float64, interpolate bool) float64 {
	vals := nonNull(nil, row)
	if len(vals) == 0 {
		return null
	}
	slices.Sort(vals)
	fractional := n / 100 * float64(len(vals)+1)
	rank := int(fractional)
	frac := fractional - float64(rank)
	if !interpolate {
		rank += int(math.Ceil(frac))
	}
	var v float64
	switch {
	case rank == 0:
		v = vals[0]
	case rank-1 >= len(vals):
		v = vals[len(vals)-1]
	default:
		v = vals[rank-1]
	}
	if interpolate && rank < len(vals) {
		v += frac * (vals[rank] - v)
	}
	return v
}

// percentValues divides each value by the total's, times 100.
func percentValues(a, b []float64) []float64 {
	n := max(len(a), len(b))
	out := make([]float64, n)
	for i := range n {
		x, y := null, null
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		out[i] = safeMul(safeDiv(x, y), 100)
	}
	return out
}

func sumValues(list SeriesList) []float64 {
	var out []float64
	rows(list, func(row []float64) { out = append(out, safeSum(row)) })
	return out
}

func evalAsPercent(c *call) (SeriesList, error) {
	list := c.list(0)
	normalize(list)
	nodes := c.rest
	total := c.args[1]
	if len(nodes) > 0 {
		return asPercentByNodes(c, list, total, nodes)
	}
	var totalValues []float64
	var totalText string
	switch t := total.(type) {
	case nil:
		totalValues = sumValues(list)
		totalText = "sumSeries(" + formatPathExpressions(list) + ")"
	case SeriesList:
		if len(t) != 1 && len(t) != len(list) {
			return nil, c.errorf("total", "must be missing, a single number, reference exactly 1 series or reference the same number of series as the first argument")
		}
		if len(t) == 1 {
			normalize(list, t)
			totalValues = t[0].Points()
			totalText = t[0].Name
		}
	case Num:
		if len(list) > 0 {
			totalValues = make([]float64, len(list[0].Values))
			for i := range totalValues {
				totalValues[i] = t.V
			}
		}
		totalText = t.String()
	default:
		return nil, c.errorf("total", "want a series list or a number, got %s", typeName(total))
	}
	var out SeriesList
	if t, ok := total.(SeriesList); ok && len(t) == len(list) {
		a, b := sortedByName(list), sortedByName(t)
		for i := range a {
			s1, s2 := a[i], b[i]
			name := "asPercent(" + s1.Name + "," + s2.Name + ")"
			_, start, end, step, _ := normalize(SeriesList{s1, s2})
			out = append(out, NewSeries(name, start, end, step, percentValues(s1.Points(), s2.Points())))
		}
		return out, nil
	}
	for _, s := range list {
		text := totalText
		if text == "" {
			text = s.PathExpression
		}
		name := "asPercent(" + s.Name + "," + text + ")"
		out = append(out, NewSeries(name, s.Start, s.End, s.Step, percentValues(s.Points(), totalValues)))
	}
	return out, nil
}

func sortedByName(l SeriesList) SeriesList {
	out := slices.Clone(l)
	slices.SortStableFunc(out, func(a, b *Series) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// groupKeys groups series by aggKey, keys in first-seen order.
func groupKeys(list SeriesList, nodes []Value) ([]string, map[string]SeriesList) {
	var keys []string
	groups := make(map[string]SeriesList)
	for _, s := range list {
		k := aggKey(s, nodes)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	return keys, groups
}

func asPercentByNodes(c *call, list SeriesList, total Value, nodes []Value) (SeriesList, error) {
	keys, meta := groupKeys(list, nodes)
	totals := make(map[string]*Series)
	sumOf := func(group SeriesList) *Series {
		if len(group) == 1 {
			return group[0]
		}
		name := "sumSeries(" + formatPathExpressions(group) + ")"
		_, start, end, step, _ := normalize(group)
		return NewSeries(name, start, end, step, sumValues(group))
	}
	switch t := total.(type) {
	case nil:
		for _, k := range keys {
			totals[k] = sumOf(meta[k])
		}
	case SeriesList:
		tkeys, tgroups := groupKeys(t, nodes)
		for _, k := range tkeys {
			if _, ok := meta[k]; !ok {
				keys = append(keys, k)
			}
			totals[k] = sumOf(tgroups[k])
		}
	default:
		return nil, c.errorf("total", "must be None or a seriesList when nodes are given")
	}
	var out SeriesList
	var start, end, step int64
	for _, k := range keys {
		group, ok := meta[k]
		if !ok {
			t := totals[k]
			vals := make([]float64, len(t.Points()))
			for i := range vals {
				vals[i] = null
			}
			out = append(out, NewSeries("asPercent(MISSING,"+t.Name+")", start, end, step, vals))
			continue
		}
		for _, s1 := range group {
			t, ok := totals[k]
			if !ok {
				vals := make([]float64, len(s1.Points()))
				for i := range vals {
					vals[i] = null
				}
				out = append(out, NewSeries("asPercent("+s1.Name+",MISSING)", start, end, step, vals))
				continue
			}
			_, start, end, step, _ = normalize(SeriesList{s1, t})
			out = append(out, NewSeries("asPercent("+s1.Name+","+t.Name+")", start, end, step, percentValues(s1.Points(), t.Points())))
		}
	}
	return out, nil
}

func evalDivideSeries(c *call) (SeriesList, error) {
	dividends, divisors := c.list(0), c.list(1)
	if len(divisors) == 0 {
		for _, s := range dividends {
			s.Name = "divideSeries(" + s.Name + ",MISSING)"
			s.PathExpression = s.Name
			for i := range s.Values {
				s.Values[i] = null
			}
		}
		return dividends, nil
	}
	if len(divisors) > 1 {
		return nil, c.errorf("divisorSeries", "must reference exactly 1 series (got %d)", len(divisors))
	}
	divisor := divisors[0]
	var out SeriesList
	for _, s := range dividends {
		name := "divideSeries(" + s.Name + "," + divisor.Name + ")"
		step := lcm(s.Step, divisor.Step)
		s.ValuesPerPoint = int(step / s.Step)
		divisor.ValuesPerPoint = int(step / divisor.Step)
		start := min(s.Start, divisor.Start)
		end := max(s.End, divisor.End)
		end -= (end - start) % step
		a, b := s.Points(), divisor.Points()
		n := max(len(a), len(b))
		vals := make([]float64, n)
		for i := range n {
			x, y := null, null
			if i < len(a) {
				x = a[i]
			}
			if i < len(b) {
				y = b[i]
			}
			vals[i] = safeDiv(x, y)
		}
		out = append(out, NewSeries(name, start, end, step, vals))
	}
	return out, nil
}

// groupByNodes is graphite-web's groupByNodes: the series grouped by
// their nodes, each group aggregated by callback (an aggregation, or a
// series function such as "sumSeries") and named by its key.
func groupByNodes(c *call, list SeriesList, callback string, nodes []Value) (SeriesList, error) {
	keys, groups := groupKeys(list, nodes)
	out := make(SeriesList, 0, len(keys))
	for _, k := range keys {
		res, err := applyCallback(c, callback, groups[k])
		if err != nil {
			return nil, err
		}
		if len(res) == 0 {
			continue
		}
		res[0].Name = k
		out = append(out, res[0])
	}
	return out, nil
}

// constantLine is graphite-web's constantLine: three points over the
// request's range, named by the value.
func constantLine(ctx *Context, v Num) *Series {
	step := (ctx.Until - ctx.From) / 2
	s := NewSeries(v.String(), ctx.From, ctx.Until, step, []float64{v.V, v.V, v.V})
	s.PathExpression = "constantLine(" + v.String() + ")"
	return s
}
