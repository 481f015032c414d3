package target

import (
	"math"
	"slices"
)

// Func is a series function: its name, graphite-web's group and
// parameters (which /functions lists and calls are checked against), and
// its evaluation.
type Func struct {
	Name       string
	Group      string
	Params     []Param
	Aggregator bool // graphite-web's "aggregator" flag in /functions
	eval       func(c *call) (SeriesList, error)
}

// Param is one parameter of a Func.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	Multiple bool     // takes every remaining positional argument
	Default  Value    // the value when absent; nil for none
	Options  []string // the accepted values of a string, if fixed
}

// ParamType is a parameter type, named as graphite-web's ParamTypes.
type ParamType string

// The parameter types.
const (
	TypeSeriesList      ParamType = "seriesList"
	TypeSeriesLists     ParamType = "seriesLists"
	TypeFloat           ParamType = "float"
	TypeInteger         ParamType = "integer"
	TypeString          ParamType = "string"
	TypeBoolean         ParamType = "boolean"
	TypeInterval        ParamType = "interval"
	TypeIntOrInterval   ParamType = "intOrInterval"
	TypeIntOrInf        ParamType = "intOrInf"
	TypeNode            ParamType = "node"
	TypeNodeOrTag       ParamType = "nodeOrTag"
	TypeAggFunc         ParamType = "aggFunc"
	TypeAggOrSeriesFunc ParamType = "aggOrSeriesFunc"
	TypeTag             ParamType = "tag"
	TypeAny             ParamType = "any"
)

// registry holds every function by name; it is filled once, by init, and
// only read afterwards.
var registry map[string]*Func

func init() {
	registry = make(map[string]*Func)
	for _, group := range [][]*Func{aliasFuncs(), combineFuncs(), transformFuncs(), calculateFuncs(), filterFuncs(), sortFuncs(), specialFuncs(), tagFuncs()} {
		for _, f := range group {
			if _, dup := registry[f.Name]; dup {
				panic("target: function registered twice: " + f.Name)
			}
			registry[f.Name] = f
		}
	}
}

func lookup(name string) (*Func, bool) {
	f, ok := registry[name]
	return f, ok
}

// Functions returns every function, sorted by name.
func Functions() []*Func {
	out := make([]*Func, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *Func) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Parameter helpers, so that a function's declaration reads as
// graphite-web's params list.
func seriesParam(name string) Param { return Param{Name: name, Type: TypeSeriesList, Required: true} }
func seriesListsParam() Param {
	return Param{Name: "seriesLists", Type: TypeSeriesList, Required: true, Multiple: true}
}
func req(name string, t ParamType) Param { return Param{Name: name, Type: t, Required: true} }
func opt(name string, t ParamType, def Value) Param {
	return Param{Name: name, Type: t, Default: def}
}
func multi(name string, t ParamType, required bool) Param {
	return Param{Name: name, Type: t, Required: required, Multiple: true}
}

func intNum(v int) Num { return Num{V: float64(v), Int: true} }

// checkType checks v against p's type.
func (c *call) checkType(p *Param, v Value) error {
	bad := func(want string) error { return c.errorf(p.Name, "want %s, got %s", want, typeName(v)) }
	switch p.Type {
	case TypeSeriesList, TypeSeriesLists:
		if _, ok := v.(SeriesList); !ok {
			return bad("a series list")
		}
	case TypeFloat:
		if _, ok := v.(Num); !ok {
			return bad("a number")
		}
	case TypeInteger, TypeNode:
		n, ok := v.(Num)
		if !ok || n.V != math.Trunc(n.V) || math.IsInf(n.V, 0) {
			return bad("an integer")
		}
	case TypeIntOrInf:
		n, ok := v.(Num)
		if !ok || (n.V != math.Trunc(n.V) && !math.IsInf(n.V, 1)) {
			return bad("an integer or inf")
		}
	case TypeString, TypeTag:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
		if len(p.Options) > 0 && !slices.Contains(p.Options, v.(string)) {
			return c.errorf(p.Name, "invalid option %q", v)
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	case TypeInterval:
		s, ok := v.(string)
		if !ok {
			return bad("an interval string such as \"1h\"")
		}
		if _, err := ParseInterval(s); err != nil {
			return c.errorf(p.Name, "%v", err)
		}
	case TypeIntOrInterval:
		switch v := v.(type) {
		case Num:
			if v.V != math.Trunc(v.V) {
				return bad("an integer or an interval string")
			}
		case string:
			if _, err := ParseInterval(v); err != nil {
				return c.errorf(p.Name, "%v", err)
			}
		default:
			return bad("an integer or an interval string")
		}
	case TypeNodeOrTag:
		switch v := v.(type) {
		case Num:
			if v.V != math.Trunc(v.V) {
				return bad("a node number or a tag name")
			}
		case string:
		default:
			return bad("a node number or a tag name")
		}
	case TypeAggFunc:
		s, ok := v.(string)
		if !ok {
			return bad("an aggregation function name")
		}
		if _, ok := aggFunc(s); !ok {
			return c.errorf(p.Name, "unsupported aggregation function %q", s)
		}
	case TypeAggOrSeriesFunc:
		s, ok := v.(string)
		if !ok {
			return bad("an aggregation or series function name")
		}
		if _, ok := aggFunc(s); !ok {
			if _, ok := lookup(s); !ok {
				return c.errorf(p.Name, "unsupported aggregation function %q", s)
			}
		}
	}
	return nil
}
