package target

import (
	"strconv"
	"strings"
)

// Node is one node of a parsed target: *PathExpr, *Call, *Number,
// *String, *Bool or *None.
type Node interface{ node() }

// PathExpr is a path expression, "servers.*.cpu": a glob the caller's
// fetcher expands into series.
type PathExpr struct{ Path string }

// Call is a function call. A piped call ("a.b | scale(2)") is the call
// with the piped expression as its first argument, as graphite-web
// evaluates it.
type Call struct {
	Name   string
	Args   []Node
	Kwargs []Kwarg
	// Raw is the call as written, from its name to its ")": graphite-web
	// passes seriesByTag's to the store as a path expression.
	Raw string
}

// Kwarg is a keyword argument, name=value.
type Kwarg struct {
	Name  string
	Value Node
}

// Number is a numeric literal. Int records that it was written as an
// integer ("5", not "5.0"), which graphite-web keeps (as a Python int) and
// shows in series names and tags.
type Number struct{ Num }

// String is a quoted string literal, its quotes removed and nothing else
// changed: graphite-web does not interpret backslashes, so "\1" reaches
// aliasSub as a backslash and a digit.
type String struct{ Value string }

// Bool is true or false (any case).
type Bool struct{ Value bool }

// None is Python's None (any case: "none", "None").
type None struct{}

func (*PathExpr) node() {}
func (*Call) node()     {}
func (*Number) node()   {}
func (*String) node()   {}
func (*Bool) node()     {}
func (*None) node()     {}

// maxDepth bounds how deeply calls may nest, so that a hostile target of
// a million "(" can't exhaust the stack of the recursive parser.
const maxDepth = 100

// maxTargetLength bounds the length of one target.
const maxTargetLength = 64 << 10

// Parse parses one target with graphite-web's grammar
// (graphite/render/grammar_unsafe.py): a path expression or a call,
// optionally followed by piped calls ("a.b | alias('x')"); call arguments
// are numbers (-?\d+, -?\d+\.\d+, either with an exponent), quoted strings
// ('...' or "..."), true/false, none, inf, and nested expressions, then
// keyword arguments (name=value). The error is an *Error.
func Parse(s string) (Node, error) {
	if len(s) > maxTargetLength {
		return nil, syntaxErrorf("target longer than %d bytes", maxTargetLength)
	}
	p := &parser{s: s}
	p.skipSpace()
	if p.eof() {
		return nil, syntaxErrorf("empty target")
	}
	n, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.rest())
	}
	return n, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *parser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *parser) errorf(format string, args ...any) error {
	return syntaxErrorf("at offset %d of %q: "+format, append([]any{p.pos, shorten(p.s)}, args...)...)
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// expression parses a call or path followed by piped calls.
func (p *parser) expression(depth int) (Node, error) {
	if depth > maxDepth {
		return nil, p.errorf("calls nested deeper than %d", maxDepth)
	}
	n, err := p.callOrPath(depth)
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if p.peek() != '|' {
			p.pos = save
			return n, nil
		}
		p.pos++
		p.skipSpace()
		start := p.pos
		name := p.ident()
		if name == "" || !p.atParen() {
			p.pos = start
			return nil, p.errorf("a pipe must be followed by a function call")
		}
		c, err := p.call(name, depth)
		if err != nil {
			return nil, err
		}
		c.Raw = p.s[start:p.pos]
		c.Args = append([]Node{n}, c.Args...)
		n = c
	}
}

// atParen reports whether the next non-space byte is "(", skipping the
// spaces only if it is.
func (p *parser) atParen() bool {
	save := p.pos
	p.skipSpace()
	if p.peek() == '(' {
		return true
	}
	p.pos = save
	return false
}

func (p *parser) callOrPath(depth int) (Node, error) {
	start := p.pos
	if name := p.ident(); name != "" && p.atParen() {
		c, err := p.call(name, depth)
		if err != nil {
			return nil, err
		}
		c.Raw = p.s[start:p.pos]
		return c, nil
	}
	p.pos = start
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	return &PathExpr{Path: path}, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func (p *parser) ident() string {
	start := p.pos
	if p.eof() || !isIdentStart(p.s[p.pos]) {
		return ""
	}
	for !p.eof() && isIdentChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// call parses the arguments of name, p being at "(".
func (p *parser) call(name string, depth int) (*Call, error) {
	p.pos++ // "("
	c := &Call{Name: name}
	p.skipSpace()
	if p.peek() == ')' {
		p.pos++
		return c, nil
	}
	for {
		p.skipSpace()
		if kw, ok := p.kwargName(); ok {
			v, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.Kwargs = append(c.Kwargs, Kwarg{Name: kw, Value: v})
		} else {
			if len(c.Kwargs) > 0 {
				return nil, p.errorf("positional argument after a keyword argument in %s()", name)
			}
			v, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, v)
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return c, nil
		default:
			if p.eof() {
				return nil, p.errorf("missing ')' closing %s(", name)
			}
			return nil, p.errorf("expected ',' or ')' in %s(, found %q", name, p.rest())
		}
	}
}

// kwargName reads "name =" if that is what comes next.
func (p *parser) kwargName() (string, bool) {
	start := p.pos
	name := p.ident()
	if name != "" {
		p.skipSpace()
		if p.peek() == '=' {
			p.pos++
			p.skipSpace()
			return name, true
		}
	}
	p.pos = start
	return "", false
}

// arg parses one argument value.
func (p *parser) arg(depth int) (Node, error) {
	p.skipSpace()
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		if n, ok := p.number(); ok {
			return n, nil
		}
	case isIdentStart(c):
		if n, ok := p.keyword(); ok {
			return n, nil
		}
	}
	return p.expression(depth + 1)
}

// afterValue reports whether position i ends a literal: graphite-web's
// grammar requires a number to be followed by ",", ")" or the end, and a
// keyword by anything that is not part of an identifier.
func (p *parser) followedByEnd(i int) bool {
	for i < len(p.s) && isSpace(p.s[i]) {
		i++
	}
	return i >= len(p.s) || p.s[i] == ',' || p.s[i] == ')'
}

func (p *parser) keyword() (Node, bool) {
	start := p.pos
	word := p.ident()
	if !p.followedByEnd(p.pos) {
		p.pos = start
		return nil, false
	}
	switch strings.ToLower(word) {
	case "true":
		return &Bool{Value: true}, true
	case "false":
		return &Bool{Value: false}, true
	case "none":
		return &None{}, true
	case "inf":
		return &Number{Num{V: inf}}, true
	}
	p.pos = start
	return nil, false
}

// number parses -?\d+(\.\d+)?([eE]-?\d+)? when a "," or ")" follows.
func (p *parser) number() (Node, bool) {
	s, i := p.s, p.pos
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if !digits() {
		return nil, false
	}
	isInt := true
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		i++
		digits()
		isInt = false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i
		i++
		if i < len(s) && s[i] == '-' {
			i++
		}
		if !digits() {
			i = j
		} else {
			isInt = false
		}
	}
	if !p.followedByEnd(i) {
		return nil, false
	}
	text := s[p.pos:i]
	p.pos = i
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeError(err) {
		return nil, false
	}
	return &Number{Num{V: v, Int: isInt}}, true
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// str parses a quoted string as pyparsing's quotedString does: a
// backslash escapes the next character and a doubled quote is part of the
// string; the value is what is between the quotes, unchanged.
func (p *parser) str() (Node, error) {
	q := p.s[p.pos]
	start := p.pos
	i := p.pos + 1
	for {
		if i >= len(p.s) || p.s[i] == '\n' || p.s[i] == '\r' {
			return nil, p.errorf("unterminated string")
		}
		switch p.s[i] {
		case '\\':
			i += 2
			continue
		case q:
			if i+1 < len(p.s) && p.s[i+1] == q {
				i += 2
				continue
			}
			p.pos = i + 1
			return &String{Value: p.s[start+1 : i]}, nil
		}
		i++
	}
}

// pathSymbols are the characters a path can't hold unescaped.
const pathSymbols = "(){},.'\"\\|"

// path parses a path expression: dot-separated elements of printable
// characters other than pathSymbols, backslash escapes ("\(") and brace
// lists ("{a,b}"). The backslashes of escapes are dropped, as
// graphite-web's grammar drops them ("a\,b" is the path "a,b").
func (p *parser) path() (string, error) {
	start := p.pos
	escaped := false
	elem := func() error {
		n := 0
		for !p.eof() {
			c := p.s[p.pos]
			switch {
			case c == '\\':
				if p.pos+1 >= len(p.s) || strings.IndexByte(pathSymbols+"=", p.s[p.pos+1]) < 0 {
					return p.errorf("bad escape in path")
				}
				p.pos += 2
				escaped = true
			case c == '{':
				end := strings.IndexByte(p.s[p.pos:], '}')
				if end < 0 {
					return p.errorf("missing '}' in path")
				}
				inner := p.s[p.pos+1 : p.pos+end]
				if strings.ContainsAny(inner, "(){.'\"|") || strings.ContainsFunc(inner, func(r rune) bool { return r <= ' ' }) {
					return p.errorf("bad brace list in path")
				}
				p.pos += end + 1
			case c > ' ' && c != 0x7f && strings.IndexByte(pathSymbols, c) < 0:
				p.pos++
			default:
				if n == 0 {
					return p.errorf("expected a path or a function call, found %q", p.rest())
				}
				return nil
			}
			n++
		}
		if n == 0 {
			return p.errorf("expected a path or a function call")
		}
		return nil
	}
	for {
		if err := elem(); err != nil {
			return "", err
		}
		if p.peek() != '.' {
			path := p.s[start:p.pos]
			if escaped {
				path = unescapePath(path)
			}
			return path, nil
		}
		p.pos++
	}
}

// unescapePath drops the backslash of each escape.
func unescapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
