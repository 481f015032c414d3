package graphiteweb

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"metricsd/internal/target"
)

// functionInfo is one entry of /functions, in graphite-web's shape
// (graphite/functions/__init__.py functionInfo, params.py Param.toJSON).
type functionInfo struct {
	Name        string      `json:"name"`
	Function    string      `json:"function"`
	Description string      `json:"description"`
	Module      string      `json:"module"`
	Group       string      `json:"group"`
	Params      []paramInfo `json:"params"`
	Aggregator  bool        `json:"aggregator,omitempty"`
}

type paramInfo struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Required bool            `json:"required,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
	Multiple bool            `json:"multiple,omitempty"`
	Options  []string        `json:"options,omitempty"`
}

// AppendFunctionsJSON appends /functions' answer: an object with one
// entry per function the engine evaluates (and nothing else), so that
// Grafana's query editor offers exactly those.
func AppendFunctionsJSON(dst []byte) []byte {
	aggOptions := target.AggregationNames()
	aggOrSeries := slices.Clone(aggOptions)
	for _, f := range target.Functions() {
		if f.Aggregator {
			aggOrSeries = append(aggOrSeries, f.Name)
		}
	}
	slices.Sort(aggOrSeries)
	aggOrSeries = slices.Compact(aggOrSeries) // sum and avg are both
	all := make(map[string]functionInfo)
	for _, f := range target.Functions() {
		info := functionInfo{
			Name: f.Name, Module: "graphite.render.functions", Group: f.Group, Aggregator: f.Aggregator,
			Description: "Evaluated by metricsd as graphite-web 1.1.8 evaluates " + f.Name + "; see graphite-web's function documentation.",
		}
		var sig []string
		for _, p := range f.Params {
			// Options as graphite-web lists them: sorted, and for
			// aggregation parameters every accepted name.
			pi := paramInfo{Name: p.Name, Type: string(p.Type), Required: p.Required, Multiple: p.Multiple, Options: slices.Sorted(slices.Values(p.Options))}
			switch p.Type {
			case target.TypeAggFunc:
				pi.Options = aggOptions
			case target.TypeAggOrSeriesFunc:
				pi.Options = aggOrSeries
			}
			s := p.Name
			if p.Multiple {
				s = "*" + p.Name
			}
			if p.Default != nil {
				pi.Default = jsonValue(p.Default)
				s += "=" + pyValue(p.Default)
			}
			info.Params = append(info.Params, pi)
			sig = append(sig, s)
		}
		info.Function = f.Name + "(" + strings.Join(sig, ", ") + ")"
		all[f.Name] = info
	}
	b, err := json.Marshal(all)
	if err != nil {
		panic("graphiteweb: /functions does not encode: " + err.Error()) // static data: a bug
	}
	return append(dst, b...)
}

// jsonValue encodes a default as graphite-web's jsonInfinityEncoder
// does: infinity as 1e9999.
func jsonValue(v target.Value) json.RawMessage {
	switch v := v.(type) {
	case target.Num:
		if math.IsInf(v.V, 1) {
			return json.RawMessage("1e9999")
		}
		return json.RawMessage(v.String())
	case string:
		b, _ := json.Marshal(v)
		return b
	case bool:
		return json.RawMessage(strconv.FormatBool(v))
	}
	return nil
}

// pyValue writes a default as Python's repr would in a signature.
func pyValue(v target.Value) string {
	switch v := v.(type) {
	case target.Num:
		return v.String()
	case string:
		return "'" + v + "'"
	case bool:
		if v {
			return "True"
		}
		return "False"
	}
	return "None"
}
