package target

import (
	"context"
	"fmt"
	"strings"
)

// Fetcher returns the series a path expression matches over (from,
// until], on their step grid (see Series), sorted by name: one fresh
// Series per call, which the caller may modify.
type Fetcher func(ctx context.Context, path string, from, until int64) (SeriesList, error)

// Context is what an evaluation reads: the request's time range and the
// way to fetch series. Functions that need other times (timeShift,
// movingAverage) evaluate their first argument again in a copy.
type Context struct {
	Ctx         context.Context
	From, Until int64
	Fetch       Fetcher

	stacks map[string]*[]float64 // stacked's running totals, by stack name
}

// stack returns the running totals of a stack of stacked().
func (c *Context) stack(name string) *[]float64 {
	if c.stacks[name] == nil {
		c.stacks[name] = new([]float64)
	}
	return c.stacks[name]
}

// Value is an evaluated argument: SeriesList, Num, string, bool, or nil
// for None.
type Value any

// Eval evaluates a parsed target into its series.
func Eval(c *Context, n Node) (SeriesList, error) {
	if c.stacks == nil {
		c.stacks = make(map[string]*[]float64)
	}
	v, err := c.eval(n)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case SeriesList:
		return v, nil
	case nil:
		return nil, nil
	}
	return nil, &Error{Msg: "invalid target: a target must give series, not a " + typeName(v)}
}

func (c *Context) eval(n Node) (Value, error) {
	switch n := n.(type) {
	case *PathExpr:
		if err := c.Ctx.Err(); err != nil {
			return nil, err
		}
		return c.Fetch(c.Ctx, n.Path, c.From, c.Until)
	case *Number:
		return n.Num, nil
	case *String:
		return n.Value, nil
	case *Bool:
		return n.Value, nil
	case *None:
		return nil, nil
	case *Call:
		return c.call(n)
	}
	return nil, fmt.Errorf("target: unknown node %T", n)
}

func (c *Context) call(n *Call) (Value, error) {
	fn, ok := lookup(n.Name)
	if !ok {
		return nil, &Error{Msg: fmt.Sprintf("unknown function %q", n.Name)}
	}
	cl := &call{ctx: c, fn: fn, node: n, args: make([]Value, len(fn.Params)), given: make([]bool, len(fn.Params))}
	for i, a := range n.Args {
		v, err := c.eval(a)
		if err != nil {
			return nil, err
		}
		if err := cl.bindPositional(i, v); err != nil {
			return nil, err
		}
	}
	for _, kw := range n.Kwargs {
		v, err := c.eval(kw.Value)
		if err != nil {
			return nil, err
		}
		if err := cl.bindKeyword(kw.Name, v); err != nil {
			return nil, err
		}
	}
	if err := cl.check(); err != nil {
		return nil, err
	}
	out, err := fn.eval(cl)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func typeName(v Value) string {
	switch v.(type) {
	case SeriesList:
		return "series list"
	case Num:
		return "number"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

// call is one function call being evaluated: its arguments bound to the
// function's parameters.
type call struct {
	ctx   *Context
	fn    *Func
	node  *Call
	args  []Value // by parameter
	given []bool
	rest  []Value // the values of the last parameter, when it is Multiple
}

func (c *call) bindPositional(i int, v Value) error {
	ps := c.fn.Params
	if n := len(ps); n > 0 && ps[n-1].Multiple && i >= n-1 {
		if err := c.checkType(&ps[n-1], v); err != nil {
			return err
		}
		c.rest = append(c.rest, v)
		c.given[n-1] = true
		return nil
	}
	if i >= len(ps) {
		return c.errorf("", "too many arguments: takes at most %d", len(ps))
	}
	return c.set(i, v)
}

func (c *call) bindKeyword(name string, v Value) error {
	for i := range c.fn.Params {
		p := &c.fn.Params[i]
		if !strings.EqualFold(p.Name, name) || p.Multiple {
			continue
		}
		if c.given[i] {
			return c.errorf(p.Name, "given twice")
		}
		return c.set(i, v)
	}
	return c.errorf(name, "no such argument")
}

func (c *call) set(i int, v Value) error {
	p := &c.fn.Params[i]
	if v == nil && !p.Required {
		return nil // None: the default
	}
	if err := c.checkType(p, v); err != nil {
		return err
	}
	if n, ok := v.(Num); ok && p.Type == TypeFloat {
		v = Num{V: n.V} // graphite-web's validation makes a float of it: "2.0" in tags
	}
	c.args[i], c.given[i] = v, true
	return nil
}

func (c *call) check() error {
	for i := range c.fn.Params {
		p := &c.fn.Params[i]
		if p.Required && !c.given[i] {
			return c.errorf(p.Name, "missing (required)")
		}
		if !c.given[i] && p.Default != nil {
			c.args[i] = p.Default
		}
	}
	return nil
}

// errorf builds the *Error of an argument (arg "" for the call).
func (c *call) errorf(arg, format string, args ...any) error {
	return &Error{Func: c.fn.Name, Arg: arg, Msg: fmt.Sprintf(format, args...)}
}

// list returns parameter i as a series list (nil if absent).
func (c *call) list(i int) SeriesList {
	l, _ := c.args[i].(SeriesList)
	return l
}

// num returns parameter i as a number.
func (c *call) num(i int) Num {
	n, _ := c.args[i].(Num)
	return n
}

// str returns parameter i as a string.
func (c *call) str(i int) string {
	s, _ := c.args[i].(string)
	return s
}

// boolean returns parameter i as a boolean.
func (c *call) boolean(i int) bool {
	b, _ := c.args[i].(bool)
	return b
}

// has reports whether parameter i was given (or has a default).
func (c *call) has(i int) bool { return c.args[i] != nil }

// lists returns the series lists of a Multiple parameter.
func (c *call) lists() []SeriesList {
	out := make([]SeriesList, 0, len(c.rest))
	for _, v := range c.rest {
		out = append(out, v.(SeriesList))
	}
	return out
}

// reeval evaluates the call's first argument again over (from, until],
// as graphite-web's movingWindow and timeShift do to read more data.
func (c *call) reeval(from, until int64) (SeriesList, error) {
	sub := *c.ctx
	sub.From, sub.Until = from, until
	if len(c.node.Args) == 0 {
		return nil, nil
	}
	return Eval(&sub, c.node.Args[0])
}
