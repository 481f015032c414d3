package target

func calculateFuncs() []*Func {
	moving := func(name, fn string) *Func {
		return &Func{Name: name, Group: "Calculate", Params: []Param{seriesParam("seriesList"), req("windowSize", TypeIntOrInterval), opt("xFilesFactor", TypeFloat, nil)},
			eval: func(c *call) (SeriesList, error) { return movingWindow(c, c.args[1], fn, optFloat(c, 2)) }}
	}
	return []*Func{
		moving("movingAverage", "average"),
		moving("movingSum", "sum"),
		moving("movingMin", "min"),
		moving("movingMax", "max"),
		moving("movingMedian", "median"),
		{Name: "movingWindow", Group: "Calculate", Params: []Param{seriesParam("seriesList"), req("windowSize", TypeIntOrInterval), opt("func", TypeAggFunc, "average"), opt("xFilesFactor", TypeFloat, nil)},
			eval: func(c *call) (SeriesList, error) { return movingWindow(c, c.args[1], c.str(2), optFloat(c, 3)) }},
		{Name: "nPercentile", Group: "Calculate", Params: []Param{seriesParam("seriesList"), req("n", TypeFloat)},
			eval: evalNPercentile},
	}
}

// movingWindow is graphite-web's movingWindow: the first argument is
// evaluated again from windowSize earlier, and each slot becomes the
// aggregation of the window of slots before it (the slot itself
// excluded).
func movingWindow(c *call, window Value, fn string, xff float64) (SeriesList, error) {
	list := c.list(0)
	if len(list) == 0 {
		return nil, nil
	}
	agg, ok := aggFunc(fn)
	if !ok {
		return nil, c.errorf("func", "unsupported aggregation function %q", fn)
	}
	var preview int64
	interval, isInterval := window.(string)
	if isInterval {
		d, _ := ParseInterval(interval)
		preview = max(d, -d)
	} else {
		var maxStep int64
		for _, s := range list {
			maxStep = max(maxStep, s.Step)
		}
		preview = maxStep * int64(window.(Num).V)
	}
	previewList, err := c.reeval(c.ctx.From-preview, c.ctx.Until)
	if err != nil {
		return nil, err
	}
	tagName := "moving" + string(fn[0]-'a'+'A') + fn[1:]
	var out SeriesList
	for _, s := range previewList {
		var name string
		var points int
		if isInterval {
			name = tagName + "(" + s.Name + ",\"" + interval + "\")"
			points = int(preview / s.Step)
			s.Tags.Set(tagName, interval)
		} else {
			n := window.(Num)
			name = tagName + "(" + s.Name + "," + n.String() + ")"
			points = int(n.V)
			s.Tags.Set(tagName, n.String())
		}
		effXFF := s.XFilesFactor
		if !IsNull(xff) {
			effXFF = xff
		}
		pts := s.Points()
		vals := make([]float64, 0, max(0, len(pts)-points))
		buf := make([]float64, 0, points)
		for i := points; i < len(pts); i++ {
			buf = nonNull(buf[:0], pts[i-points:i])
			if len(buf) > 0 && xffOK(len(buf), points, effXFF) {
				vals = append(vals, agg(buf))
			} else {
				vals = append(vals, null)
			}
		}
		ns := s.copyWith(name, s.Start+preview, s.End, s.Step, vals)
		out = append(out, ns)
	}
	return out, nil
}

func evalNPercentile(c *call) (SeriesList, error) {
	n := c.num(1)
	if n.V == 0 {
		return nil, c.errorf("n", "the requested percent must be greater than 0")
	}
	var out SeriesList
	for _, s := range c.list(0) {
		vals := nonNull(nil, s.Points())
		if len(vals) == 0 {
			continue
		}
		p := percentile(vals, n.V, false)
		if IsNull(p) {
			continue
		}
		s.Tags.Set("nPercentile", n.String())
		count := int((s.End - s.Start) / s.Step)
		pv := make([]float64, count)
		for i := range pv {
			pv[i] = p
		}
		ns := s.copyWith("nPercentile("+s.Name+", "+pyG(n.V)+")", s.Start, s.End, s.Step, pv)
		out = append(out, ns)
	}
	return out, nil
}
