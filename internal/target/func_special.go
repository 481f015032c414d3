package target

func specialFuncs() []*Func {
	// noop declares a drawing function: graphite-web changes only how it
	// draws the series, so the data is returned as it is.
	noop := func(name string, params ...Param) *Func {
		return &Func{Name: name, Group: "Graph", Params: append([]Param{seriesParam("seriesList")}, params...),
			eval: func(c *call) (SeriesList, error) { return c.list(0), nil }}
	}
	return []*Func{
		{Name: "constantLine", Group: "Special", Params: []Param{req("value", TypeFloat)},
			eval: func(c *call) (SeriesList, error) { return SeriesList{constantLine(c.ctx, c.num(0))}, nil }},
		{Name: "threshold", Group: "Graph", Params: []Param{req("value", TypeFloat), opt("label", TypeString, nil), opt("color", TypeString, nil)},
			eval: func(c *call) (SeriesList, error) {
				s := constantLine(c.ctx, c.num(0))
				if l := c.str(1); l != "" {
					s.Name = l
				}
				return SeriesList{s}, nil
			}},
		{Name: "consolidateBy", Group: "Special", Params: []Param{seriesParam("seriesList"),
			{Name: "consolidationFunc", Type: TypeString, Required: true, Options: []string{"sum", "average", "avg", "avg_zero", "min", "max", "first", "last"}}},
			eval: func(c *call) (SeriesList, error) {
				fn := c.str(1)
				for _, s := range c.list(0) {
					s.ConsolidationFunc = fn
					s.Tags.Set("consolidateBy", fn)
					s.Name = "consolidateBy(" + s.Name + ",\"" + fn + "\")"
					s.PathExpression = s.Name
				}
				return c.list(0), nil
			}},
		noop("color", req("theColor", TypeString)),
		noop("lineWidth", req("width", TypeFloat)),
		noop("alpha", req("alpha", TypeFloat)),
		{Name: "dashed", Group: "Graph", Params: []Param{seriesParam("seriesList"), opt("dashLength", TypeInteger, intNum(5))},
			eval: func(c *call) (SeriesList, error) {
				d := c.num(1)
				for _, s := range c.list(0) {
					s.Tags.Set("dashed", d.String())
					s.Name = "dashed(" + s.Name + ", " + pyG(d.V) + ")"
				}
				return c.list(0), nil
			}},
		{Name: "secondYAxis", Group: "Graph", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) {
				for _, s := range c.list(0) {
					s.Tags.Set("secondYAxis", "1")
					s.Name = "secondYAxis(" + s.Name + ")"
				}
				return c.list(0), nil
			}},
		{Name: "stacked", Group: "Graph", Params: []Param{seriesParam("seriesList"), opt("stack", TypeString, nil)},
			eval: evalStacked},
	}
}

// evalStacked is graphite-web's stacked: each series becomes the running
// total of the series before it (one stack per request and stack name).
func evalStacked(c *call) (SeriesList, error) {
	name := "__DEFAULT__"
	if c.has(1) {
		name = c.str(1)
	}
	total := c.ctx.stack(name)
	var out SeriesList
	for _, s := range c.list(0) {
		pts := s.Points()
		vals := make([]float64, len(pts))
		for i, v := range pts {
			if len(*total) <= i {
				*total = append(*total, 0)
			}
			if IsNull(v) {
				vals[i] = null
				continue
			}
			(*total)[i] += v
			vals[i] = (*total)[i]
		}
		newName := s.Name
		if name == "__DEFAULT__" {
			s.Tags.Set("stacked", name)
			newName = "stacked(" + s.Name + ")"
		}
		out = append(out, s.copyWith(newName, s.Start, s.End, s.Step, vals))
	}
	return out, nil
}
