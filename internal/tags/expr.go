package tags

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Op is the operator of a tag expression.
type Op uint8

// The four operators of seriesByTag's expressions.
const (
	OpEqual    Op = iota // tag=spec: the value is spec
	OpNotEqual           // tag!=spec: the value is not spec
	OpMatch              // tag=~spec: the value matches the regular expression
	OpNotMatch           // tag!=~spec: the value does not match it
	numOps
)

var opText = [numOps]string{"=", "!=", "=~", "!=~"}

// String returns the operator as written in an expression.
func (o Op) String() string { return opText[o] }

// ExprError is the error of an expression that does not parse; it wraps
// ErrExpr or ErrRegexp.
type ExprError struct {
	Expr string // as given
	Err  error
}

// Error names the expression.
func (e *ExprError) Error() string { return e.Err.Error() + ": " + strconv.Quote(e.Expr) }

// Unwrap returns ErrExpr or ErrRegexp.
func (e *ExprError) Unwrap() error { return e.Err }

// Errors of ParseExpr and NewMatcher.
var (
	ErrExpr       = errors.New("tags: a tag expression is not tag=spec, tag!=spec, tag=~spec or tag!=~spec")
	ErrOnlyEmpty  = errors.New("tags: at least one tag expression must not match the empty value")
	ErrRegexp     = errors.New("tags: a tag expression has an invalid regular expression")
	ErrNoExprList = errors.New("tags: no tag expressions")
)

// Expr is one parsed tag expression of seriesByTag, /tags/findSeries and
// the auto-completion endpoints.
type Expr struct {
	Tag  string
	Op   Op
	Spec string // as written; for a regular expression, before anchoring

	// matchesEmpty is graphite-web's test whether the expression holds for
	// a series without the tag (whose value counts as "").
	matchesEmpty bool
	// search is the anchored pattern graphite-web hands to the database
	// (searched, as SQLite's REGEXP does); match is the same pattern
	// anchored once more, for the expressions graphite-web checks in
	// Python with re.match.
	search, match *regexp.Regexp
}

// ParseExpr parses one expression as graphite-web's parse_tagspec does
// (^([^;!=]+)(!?=~?)([^;]*)$) and prepares its regular expression, which
// graphite-web anchors at the start as "^(spec)" unless spec starts with "^".
//
// Regular expressions are Go's RE2 syntax, not Python's: the common subset
// (classes, alternation, repetition, (?i)) behaves alike; look-arounds and
// back-references are refused with ErrRegexp.
func ParseExpr(s string) (Expr, error) {
	i := strings.IndexAny(s, ";!=")
	bad := &ExprError{Expr: s, Err: ErrExpr}
	if i <= 0 || s[i] == ';' {
		return Expr{}, bad
	}
	e := Expr{Tag: s[:i]}
	rest := s[i:]
	neg := rest[0] == '!'
	if neg {
		rest = rest[1:]
	}
	if rest == "" || rest[0] != '=' {
		return Expr{}, bad
	}
	rest = rest[1:]
	re := rest != "" && rest[0] == '~'
	if re {
		rest = rest[1:]
	}
	if strings.IndexByte(rest, ';') >= 0 {
		return Expr{}, bad
	}
	e.Spec = rest
	switch {
	case !neg && !re:
		e.Op, e.matchesEmpty = OpEqual, rest == ""
	case neg && !re:
		e.Op, e.matchesEmpty = OpNotEqual, rest != ""
	default:
		e.Op = OpMatch
		if neg {
			e.Op = OpNotMatch
		}
		pat := rest
		if !strings.HasPrefix(pat, "^") {
			pat = "^(" + pat + ")"
		}
		var err error
		if e.search, err = regexp.Compile(pat); err != nil {
			return Expr{}, &ExprError{Expr: s, Err: fmt.Errorf("%w: %v", ErrRegexp, err)}
		}
		e.match = regexp.MustCompile("^(?:" + pat + ")") // valid since pat is
		empty := e.match.MatchString("")
		e.matchesEmpty = empty == (e.Op == OpMatch)
	}
	return e, nil
}

// String returns the expression as written.
func (e Expr) String() string { return e.Tag + e.Op.String() + e.Spec }

// holds reports whether the expression holds for a value, ok saying whether
// the series has the tag at all. It follows graphite-web's
// LocalDatabaseTagDB: an expression that does not match the empty value
// joins the series' tags (so the tag must be present) and is tested by the
// database, with search semantics; one that does match the empty value is a
// filter tested in Python with re.match, a missing tag counting as "".
func (e *Expr) holds(value string, ok bool) bool {
	if !e.matchesEmpty {
		if !ok {
			return false
		}
		switch e.Op {
		case OpEqual:
			return value == e.Spec
		case OpNotEqual:
			return value != e.Spec
		case OpMatch:
			return e.search.MatchString(value)
		default:
			return !e.search.MatchString(value)
		}
	}
	switch e.Op {
	case OpEqual:
		return value == e.Spec
	case OpNotEqual:
		return value != e.Spec
	case OpMatch:
		return e.match.MatchString(value)
	default:
		return !e.match.MatchString(value)
	}
}

// Matcher selects series by a list of tag expressions, all of which must
// hold: seriesByTag("tag1=value1", "tag2!=value2").
type Matcher struct {
	exprs []Expr
}

// NewMatcher parses exprs. As in graphite-web, at least one expression must
// not match the empty value (ErrOnlyEmpty), so a query never selects every
// series; an empty list is ErrNoExprList.
func NewMatcher(exprs ...string) (*Matcher, error) {
	if len(exprs) == 0 {
		return nil, ErrNoExprList
	}
	m := &Matcher{exprs: make([]Expr, 0, len(exprs))}
	allEmpty := true
	for _, s := range exprs {
		e, err := ParseExpr(s)
		if err != nil {
			return nil, err
		}
		allEmpty = allEmpty && e.matchesEmpty
		m.exprs = append(m.exprs, e)
	}
	if allEmpty {
		return nil, ErrOnlyEmpty
	}
	return m, nil
}

// Exprs returns the parsed expressions, in the order given.
func (m *Matcher) Exprs() []Expr { return m.exprs }

// Match reports whether the series called name is selected. Only normalized
// names (IsNormalized) are in graphite-web's tag database, so any other name
// never matches. Untagged names are there too, with only their "name" tag,
// as carbon tags every series it creates. Match does not allocate.
// Callers return matches sorted bytewise, as graphite-web does (ORDER BY
// path on SQLite's binary collation).
func (m *Matcher) Match(name string) bool {
	if !IsNormalized(name) {
		return false
	}
	for i := range m.exprs {
		e := &m.exprs[i]
		v, ok := Value(name, e.Tag)
		if !e.holds(v, ok) {
			return false
		}
	}
	return true
}
