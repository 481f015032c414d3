package target

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

func aliasFuncs() []*Func {
	return []*Func{
		{Name: "alias", Group: "Alias", Params: []Param{seriesParam("seriesList"), req("newName", TypeString)},
			eval: func(c *call) (SeriesList, error) {
				for _, s := range c.list(0) {
					s.Name = c.str(1)
				}
				return c.list(0), nil
			}},
		{Name: "aliasSub", Group: "Alias", Params: []Param{seriesParam("seriesList"), req("search", TypeString), req("replace", TypeString)},
			eval: evalAliasSub},
		{Name: "aliasByNode", Group: "Alias", Params: []Param{seriesParam("seriesList"), multi("nodes", TypeNodeOrTag, true)},
			eval: func(c *call) (SeriesList, error) {
				for _, s := range c.list(0) {
					s.Name = aggKey(s, c.rest)
				}
				return c.list(0), nil
			}},
		{Name: "aliasByMetric", Group: "Alias", Params: []Param{seriesParam("seriesList")},
			eval: func(c *call) (SeriesList, error) { return substr(c.list(0), -1, 0), nil }},
		{Name: "legendValue", Group: "Alias", Params: []Param{seriesParam("seriesList"), multi("valuesTypes", TypeString, false)},
			eval: evalLegendValue},
		{Name: "cactiStyle", Group: "Special", Params: []Param{seriesParam("seriesList"),
			{Name: "system", Type: TypeString, Options: []string{"si", "binary"}}, opt("units", TypeString, nil)},
			eval: evalCactiStyle},
		{Name: "substr", Group: "Special", Params: []Param{seriesParam("seriesList"), opt("start", TypeNode, intNum(0)), opt("stop", TypeNode, intNum(0))},
			eval: func(c *call) (SeriesList, error) {
				return substr(c.list(0), int(c.num(1).V), int(c.num(2).V)), nil
			}},
	}
}

// evalAliasSub runs each name through Python's re.sub(search, replace).
func evalAliasSub(c *call) (SeriesList, error) {
	re, err := compilePythonRegexp(c.str(1))
	if err != nil {
		return nil, c.errorf("search", "%v", err)
	}
	repl, err := pythonReplacement(c.str(2), re.NumSubexp())
	if err != nil {
		return nil, c.errorf("replace", "%v", err)
	}
	for _, s := range c.list(0) {
		s.Name = re.ReplaceAllString(s.Name, repl)
	}
	return c.list(0), nil
}

// compilePythonRegexp compiles a Python regular expression with Go's
// RE2 syntax, which agrees with Python's on what dashboards use; Python's
// lookarounds and backreferences are refused as invalid.
func compilePythonRegexp(expr string) (*regexp.Regexp, error) {
	expr = strings.ReplaceAll(expr, "(?P<", "(?P<") // same syntax in both
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q", expr)
	}
	return re, nil
}

// pythonReplacement turns a Python re.sub replacement ("\1", "\g<1>",
// "\g<name>", "\n") into Go's Expand template ("${1}"), "$" escaped.
func pythonReplacement(s string, groups int) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			b.WriteString("$$")
			continue
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("bad escape (end of pattern)")
		}
		i++
		d := s[i]
		switch {
		case d >= '0' && d <= '9':
			j := i + 1
			if j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, _ := strconv.Atoi(s[i:j])
			if n > groups {
				return "", fmt.Errorf("invalid group reference %d", n)
			}
			b.WriteString("${" + s[i:j] + "}")
			i = j - 1
		case d == 'g':
			end := strings.IndexByte(s[i:], '>')
			if i+1 >= len(s) || s[i+1] != '<' || end < 0 {
				return "", fmt.Errorf("missing group name in \\g<...>")
			}
			b.WriteString("${" + s[i+2:i+end] + "}")
			i += end
		case d == 'n':
			b.WriteByte('\n')
		case d == 't':
			b.WriteByte('\t')
		case d == 'r':
			b.WriteByte('\r')
		case d == '\\':
			b.WriteByte('\\')
		case d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z':
			return "", fmt.Errorf("bad escape \\%c", d)
		default:
			b.WriteByte('\\')
			b.WriteByte(d)
		}
	}
	return b.String(), nil
}

// aggKey joins the nodes (or tags) of a series' name, as graphite-web's
// aggKey: a name that looks like a call ("sumSeries(a.b)") is read
// through its first path expression.
func aggKey(s *Series, nodes []Value) string {
	path := s.Name
	if strings.HasSuffix(s.Name, ")") {
		if p, ok := firstPathExpression(s.Name); ok {
			path = p
		}
	}
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = nodeOrTag(s, n, path)
	}
	return strings.Join(parts, ".")
}

// nodeOrTag is graphite-web's getNodeOrTag: node n of the path (tags cut
// off, negative counting from the end), or else the tag named n, or "".
func nodeOrTag(s *Series, n Value, path string) string {
	if num, ok := n.(Num); ok && num.V == math.Trunc(num.V) {
		if i := strings.IndexByte(path, ';'); i >= 0 {
			path = path[:i]
		}
		nodes := strings.Split(path, ".")
		i := int(num.V)
		if i < 0 {
			i += len(nodes)
		}
		if i >= 0 && i < len(nodes) {
			return nodes[i]
		}
		v, _ := s.Tags.Get(num.String())
		return v
	}
	key, _ := n.(string)
	v, _ := s.Tags.Get(key)
	return v
}

// firstPathExpression returns the first path of an expression, following
// first arguments ("sumSeries(a.*, b)" gives "a.*").
func firstPathExpression(name string) (string, bool) {
	n, err := parsePrefix(name)
	if err != nil {
		return "", false
	}
	for {
		switch x := n.(type) {
		case *PathExpr:
			return x.Path, true
		case *Call:
			if len(x.Args) == 0 {
				return "", false
			}
			n = x.Args[0]
		default:
			return "", false
		}
	}
}

// parsePrefix parses the longest target at the start of s, as
// pyparsing's parseString does without parseAll.
func parsePrefix(s string) (Node, error) {
	p := &parser{s: s}
	p.skipSpace()
	return p.expression(0)
}

// substr is graphite-web's substr: the nodes start:stop (Python slice)
// of the innermost parenthesised part of the name, cut at its first
// comma.
func substr(list SeriesList, start, stop int) SeriesList {
	for _, s := range list {
		name := s.Name
		left := strings.LastIndexByte(name, '(') + 1
		right := strings.IndexByte(name, ')')
		if right < 0 {
			right = len(name) + 1
		}
		clean := ""
		if left < right {
			clean = name[left:min(right, len(name))]
		}
		nodes := strings.Split(clean, ".")
		if stop == 0 {
			nodes = pySlice(nodes, start, len(nodes))
		} else {
			nodes = pySlice(nodes, start, stop)
		}
		name = strings.Join(nodes, ".")
		if i := strings.IndexByte(name, ','); i >= 0 {
			name = name[:i]
		}
		s.Name = name
	}
	return list
}

// pySlice is Python's l[start:stop].
func pySlice[T any](l []T, start, stop int) []T {
	n := len(l)
	fix := func(i int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, stop = fix(start), fix(stop)
	if start >= stop {
		return nil
	}
	return l[start:stop]
}

// evalLegendValue appends each aggregation of the series to its name, as
// graphite-web's legendValue does without a unit system: " (avg: 12.5)",
// "None" for no value, "(?)" for an unknown aggregation. The unit systems
// ("si", "binary") are refused: they format through graphite-web's
// format_units, which metricsd does not reproduce.
func evalLegendValue(c *call) (SeriesList, error) {
	var types []string
	for _, v := range c.rest {
		types = append(types, v.(string))
	}
	if n := len(types); n > 0 && (types[n-1] == "si" || types[n-1] == "binary") {
		return nil, c.errorf("valuesTypes", "the unit systems si and binary are not supported by metricsd")
	}
	for _, t := range types {
		agg, ok := aggFunc(t)
		for _, s := range c.list(0) {
			text := "(?)"
			if ok {
				text = pyStr(agg(s.Points()))
			}
			s.Name += " (" + t + ": " + text + ")"
		}
	}
	return c.list(0), nil
}

// pyStr is Python's str() of a value: its repr, or "None".
func pyStr(v float64) string {
	if IsNull(v) {
		return "None"
	}
	return pyRepr(v)
}

// evalCactiStyle renames series as graphite-web's cactiStyle does
// without a unit system: "name Current:x Max:y Min:z ", the columns
// padded to a common width. The unit systems are refused, as in
// legendValue.
func evalCactiStyle(c *call) (SeriesList, error) {
	list := c.list(0)
	if len(list) == 0 {
		return list, nil
	}
	if c.has(1) {
		return nil, c.errorf("system", "the unit systems si and binary are not supported by metricsd")
	}
	units, hasUnits := c.args[2].(string)
	format := func(x float64) string {
		if hasUnits {
			return fmt.Sprintf("%.2f %s", x, units)
		}
		return fmt.Sprintf("%.2f", x)
	}
	// width is graphite-web's column width: the longest formatting of
	// the integer part of the value (3 for none or zero), plus 3.
	width := func(agg aggregation) int {
		w := 0
		for _, s := range list {
			v := agg(s.Points())
			if IsNull(v) || v == 0 {
				v = 3
			}
			w = max(w, len(format(math.Trunc(v))))
		}
		return w + 3
	}
	nameLen := 0
	for _, s := range list {
		nameLen = max(nameLen, utf8.RuneCountInString(s.Name))
	}
	lastLen, maxLen, minLen := width(safeLast), width(safeMax), width(safeMin)
	cell := func(v float64) string {
		if IsNull(v) {
			return "nan"
		}
		return format(v)
	}
	for _, s := range list {
		pts := s.Points()
		s.Name = fmt.Sprintf("%-*s Current:%-*s Max:%-*s Min:%-*s ", nameLen, s.Name,
			lastLen, cell(safeLast(pts)), maxLen, cell(safeMax(pts)), minLen, cell(safeMin(pts)))
	}
	return list, nil
}
