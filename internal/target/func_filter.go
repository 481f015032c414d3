package target

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func filterFuncs() []*Func {
	nParams := []Param{seriesParam("seriesList"), req("n", TypeInteger)}
	top := func(name, fn string, highest bool) *Func {
		return &Func{Name: name, Group: "Filter Series", Params: nParams,
			eval: func(c *call) (SeriesList, error) { return topN(c.list(0), int(c.num(1).V), fn, highest), nil }}
	}
	regexFilter := func(name string, keep bool) *Func {
		return &Func{Name: name, Group: "Filter Series", Params: []Param{seriesParam("seriesList"), req("pattern", TypeString)},
			eval: func(c *call) (SeriesList, error) {
				re, err := compilePythonRegexp(c.str(1))
				if err != nil {
					return nil, c.errorf("pattern", "%v", err)
				}
				var out SeriesList
				for _, s := range c.list(0) {
					if re.MatchString(s.Name) == keep {
						out = append(out, s)
					}
				}
				return out, nil
			}}
	}
	removeValue := func(name string, drop func(v, n float64) bool) *Func {
		return &Func{Name: name, Group: "Filter Data", Params: []Param{seriesParam("seriesList"), req("n", TypeFloat)},
			eval: func(c *call) (SeriesList, error) {
				n := c.num(1).V
				for _, s := range c.list(0) {
					s.Name = name + "(" + s.Name + ", " + pyG(n) + ")"
					s.PathExpression = s.Name
					for i, v := range s.Values {
						if drop(v, n) {
							s.Values[i] = null
						}
					}
				}
				return c.list(0), nil
			}}
	}
	return []*Func{
		top("highestMax", "max", true),
		top("highestCurrent", "current", true),
		top("highestAverage", "average", true),
		top("lowestCurrent", "current", false),
		top("lowestAverage", "average", false),
		{Name: "highest", Group: "Filter Series", Params: []Param{seriesParam("seriesList"), opt("n", TypeInteger, intNum(1)), opt("func", TypeAggFunc, "average")},
			eval: func(c *call) (SeriesList, error) { return topN(c.list(0), int(c.num(1).V), c.str(2), true), nil }},
		{Name: "lowest", Group: "Filter Series", Params: []Param{seriesParam("seriesList"), opt("n", TypeInteger, intNum(1)), opt("func", TypeAggFunc, "average")},
			eval: func(c *call) (SeriesList, error) { return topN(c.list(0), int(c.num(1).V), c.str(2), false), nil }},
		{Name: "limit", Group: "Filter Series", Params: nParams,
			eval: func(c *call) (SeriesList, error) { return pySlice(c.list(0), 0, int(c.num(1).V)), nil }},
		regexFilter("exclude", false),
		regexFilter("grep", true),
		removeValue("removeBelowValue", func(v, n float64) bool { return IsNull(v) || v < n }),
		removeValue("removeAboveValue", func(v, n float64) bool { return !IsNull(v) && v > n }),
		{Name: "removeEmptySeries", Group: "Filter Series", Params: []Param{seriesParam("seriesList"), opt("xFilesFactor", TypeFloat, nil)},
			eval: func(c *call) (SeriesList, error) {
				xff := 0.0
				if c.has(1) {
					xff = c.num(1).V
				}
				var out SeriesList
				for _, s := range c.list(0) {
					pts := s.Points()
					if xffOK(int(safeCount(pts)), len(pts), xff) {
						out = append(out, s)
					}
				}
				return out, nil
			}},
	}
}

// sortKey is graphite-web's keyFunc: the aggregation of the series, -inf
// for none.
func sortKey(agg aggregation, s *Series) float64 {
	v := agg(s.Points())
	if IsNull(v) {
		return -inf
	}
	return v
}

// sortSeries sorts stably by key (descending if reverse), as Python's
// list.sort does, reverse included.
func sortSeries(list SeriesList, agg aggregation, reverse bool) {
	keys := make(map[*Series]float64, len(list))
	for _, s := range list {
		keys[s] = sortKey(agg, s)
	}
	slices.SortStableFunc(list, func(a, b *Series) int {
		ka, kb := keys[a], keys[b]
		if reverse {
			ka, kb = kb, ka
		}
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
}

func topN(list SeriesList, n int, fn string, highest bool) SeriesList {
	agg, ok := aggFunc(fn)
	if !ok {
		return nil
	}
	sortSeries(list, agg, highest)
	return pySlice(list, 0, n)
}

func sortFuncs() []*Func {
	return []*Func{
		{Name: "sortByMaxima", Group: "Sorting", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				sortSeries(c.list(0), safeMax, true)
				return c.list(0), nil
			}},
		{Name: "sortByMinima", Group: "Sorting", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				var out SeriesList
				for _, s := range c.list(0) {
					if m := safeMax(s.Points()); !IsNull(m) && m > 0 {
						out = append(out, s)
					}
				}
				sortSeries(out, safeMin, false)
				return out, nil
			}},
		{Name: "sortByTotal", Group: "Sorting", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				sortSeries(c.list(0), safeSum, true)
				return c.list(0), nil
			}},
		{Name: "sortBy", Group: "Sorting", Params: []Param{seriesParam("seriesList"), opt("func", TypeAggFunc, "average"), opt("reverse", TypeBoolean, false)},
			eval: func(c *call) (SeriesList, error) {
				agg, _ := aggFunc(c.str(1))
				sortSeries(c.list(0), agg, c.boolean(2))
				return c.list(0), nil
			}},
		{Name: "sortByName", Group: "Sorting", Params: []Param{seriesParam("seriesList"), opt("natural", TypeBoolean, false), opt("reverse", TypeBoolean, false)},
			eval: func(c *call) (SeriesList, error) {
				list := c.list(0)
				key := func(s *Series) string { return s.Name }
				if c.boolean(1) {
					key = func(s *Series) string { return naturalKey(s.Name) }
				}
				reverse := c.boolean(2)
				slices.SortStableFunc(list, func(a, b *Series) int {
					if reverse {
						a, b = b, a
					}
					return strings.Compare(key(a), key(b))
				})
				return list, nil
			}},
	}
}

var digitRun = regexp.MustCompile(`\d+`)

// naturalKey pads every run of digits to ten, as sortByName(natural=true).
func naturalKey(s string) string {
	return digitRun.ReplaceAllStringFunc(s, func(d string) string {
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil {
			return d
		}
		p := strconv.FormatUint(n, 10)
		for len(p) < 10 {
			p = "0" + p
		}
		return p
	})
}
