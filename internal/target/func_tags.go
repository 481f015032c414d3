package target

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"metricsd/internal/tags"
)

func tagFuncs() []*Func {
	return []*Func{
		{Name: "seriesByTag", Group: "Special", Params: []Param{multi("tagExpressions", TypeString, true)},
			eval: func(c *call) (SeriesList, error) {
				// As graphite-web, the call as written goes to the store,
				// which selects the series (the Fetcher).
				return c.ctx.Fetch(c.ctx.Ctx, c.node.Raw, c.ctx.From, c.ctx.Until)
			}},
		{Name: "aliasByTags", Group: "Alias", Params: []Param{seriesParam("seriesList"), multi("tags", TypeNodeOrTag, true)},
			eval: func(c *call) (SeriesList, error) {
				for _, s := range c.list(0) {
					s.Name = aggKey(s, c.rest)
				}
				return c.list(0), nil
			}},
		{Name: "groupByTags", Group: "Combine", Params: []Param{seriesParam("seriesList"), req("callback", TypeAggOrSeriesFunc), multi("tags", TypeTag, true)},
			eval: evalGroupByTags},
	}
}

// TagsOf is the "tags" object graphite-web gives a series named name
// that no function has tagged: its parsed carbon tags ("name" first),
// or {"name": name}.
func TagsOf(name string) Tags {
	m := tags.Tags(name)
	out := Tags{{"name", m["name"]}}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "name" {
			out = append(out, Tag{k, m[k]})
		}
	}
	return out
}

// evalGroupByTags is graphite-web's groupByTags: series grouped by the
// values of tags, each group aggregated by callback and named as a tagged
// series "name;tag=value;...".
func evalGroupByTags(c *call) (SeriesList, error) {
	list, callback := c.list(0), c.str(1)
	var wanted []string
	for _, v := range c.rest {
		wanted = append(wanted, v.(string))
	}
	byName := slices.Contains(wanted, "name")
	name := callback
	if !byName {
		names := map[string]bool{}
		for _, s := range list {
			n, _ := s.Tags.Get("name")
			names[n] = true
		}
		if len(names) == 1 {
			for n := range names {
				name = n
			}
		}
	}
	var keys []string
	groups := map[string]SeriesList{}
	for _, s := range list {
		var parts []string
		for _, t := range wanted {
			if byName && t == "name" {
				continue
			}
			v, _ := s.Tags.Get(t)
			parts = append(parts, t+"="+v)
		}
		slices.Sort(parts)
		head := name
		if byName {
			head, _ = s.Tags.Get("name")
		}
		key := strings.Join(append([]string{head}, parts...), ";")
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], s)
	}
	var out SeriesList
	for _, k := range keys {
		res, err := applyCallback(c, callback, groups[k])
		if err != nil {
			return nil, err
		}
		if len(res) == 0 {
			continue
		}
		res[0].Name, res[0].PathExpression = k, k
		res[0].Tags = TagsOf(k)
		out = append(out, res[0])
	}
	return out, nil
}

// applyCallback applies a groupBy callback: a series function such as
// "sumSeries" called on the group, or else an aggregation.
func applyCallback(c *call, callback string, group SeriesList) (SeriesList, error) {
	fn, ok := lookup(callback)
	if !ok {
		return aggregate([]SeriesList{group}, callback, 0), nil
	}
	sub := &call{ctx: c.ctx, fn: fn, node: &Call{Name: callback}, args: make([]Value, len(fn.Params)), given: make([]bool, len(fn.Params))}
	if err := sub.bindPositional(0, group); err != nil {
		return nil, err
	}
	if err := sub.check(); err != nil {
		return nil, fmt.Errorf("callback %s: %w", callback, err)
	}
	return fn.eval(sub)
}
