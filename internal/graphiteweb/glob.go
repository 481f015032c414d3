package graphiteweb

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxAlternatives bounds how many literal-or-glob alternatives the braces of
// one node may expand to, so that "{a,b}{c,d}{e,f}..." can't make a query
// explode in memory and time. Grafana's multi-value template variables
// produce one brace list per node, typically tens to hundreds of values.
const maxAlternatives = 10_000

// Pattern is a compiled Graphite path pattern: dot-separated nodes, each
// matched on its own with Graphite's glob syntax: "*" (any run of
// characters, not crossing a dot), "?" (one character), "[...]" (one
// character of a set, with ranges "a-z" and "!" for negation, as Python's
// fnmatch), and "{a,b,...}" (any of the alternatives, which may hold globs
// and nest).
//
// Unlike graphite-web, which matches an unclosed "[" or "{" literally,
// CompilePattern refuses unbalanced brackets and braces: such a query is far
// more likely a typo than a search for a key with a bracket in it.
type Pattern struct {
	text  string
	nodes []nodeMatcher
}

// matchKind picks the cheapest way a node pattern can be matched.
type matchKind uint8

const (
	matchLiteral matchKind = iota // the node equals one string
	matchSet                      // the node is one of several strings
	matchAll                      // "*": any node
	matchGlobs                    // anything else
)

// nodeMatcher matches one node of a path.
type nodeMatcher struct {
	kind    matchKind
	literal string
	set     map[string]struct{}
	globs   [][]globToken // alternatives; a node matches if any does
}

// CompilePattern compiles a Graphite path pattern. The error is a
// *QueryError.
func CompilePattern(s string) (*Pattern, error) { return compilePattern(s, nil) }

// compilePattern compiles s; when remaining is not nil, the alternatives
// its braces expand to are taken from *remaining, and a pattern that
// needs more than are left is refused before they are built.
func compilePattern(s string, remaining *int) (*Pattern, error) {
	if s == "" {
		return nil, queryErrorf("empty path pattern")
	}
	parts := strings.Split(s, ".")
	p := &Pattern{text: s, nodes: make([]nodeMatcher, len(parts))}
	for i, part := range parts {
		m, err := compileNode(part, remaining)
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, queryErrorf("pattern %q: %v", s, err)
		}
		p.nodes[i] = m
	}
	return p, nil
}

// String returns the pattern as it was written.
func (p *Pattern) String() string { return p.text }

// Depth is the number of nodes of the pattern: the number of nodes of the
// paths it matches.
func (p *Pattern) Depth() int { return len(p.nodes) }

// Literal returns the only path the pattern matches, if it matches just
// one ("palm.cpu", "palm.{cpu}"); then a lookup can replace a scan of every
// key.
func (p *Pattern) Literal() (string, bool) {
	parts := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		if n.kind != matchLiteral {
			return "", false
		}
		parts[i] = n.literal
	}
	return strings.Join(parts, "."), true
}

// Match reports whether path has exactly Depth nodes and each matches.
func (p *Pattern) Match(path []byte) bool {
	end, ok := p.MatchPrefix(path)
	return ok && end == len(path)
}

// MatchPrefix reports whether the first Depth nodes of path match, and
// returns the end of the last of them in path: end == len(path) when path
// has no further nodes (it is a leaf of the match), else path[end] is the
// dot that leads to the children.
func (p *Pattern) MatchPrefix(path []byte) (end int, ok bool) {
	start := 0
	for i := range p.nodes {
		if start > len(path) {
			return 0, false // path has fewer nodes
		}
		end = start + bytes.IndexByte(path[start:], '.')
		if end < start {
			end = len(path)
		}
		if !p.nodes[i].match(path[start:end]) {
			return 0, false
		}
		start = end + 1
	}
	return end, true
}

func (m *nodeMatcher) match(node []byte) bool {
	switch m.kind {
	case matchLiteral:
		return string(node) == m.literal
	case matchSet:
		_, ok := m.set[string(node)]
		return ok
	case matchAll:
		return true
	}
	for _, g := range m.globs {
		if matchGlob(g, node) {
			return true
		}
	}
	return false
}

// compileNode expands the braces of one node and compiles what is left.
func compileNode(s string, remaining *int) (nodeMatcher, error) {
	if s == "*" {
		return nodeMatcher{kind: matchAll}, nil
	}
	alts, err := expandBraces(s, remaining)
	if err != nil {
		return nodeMatcher{}, err
	}
	literal := true
	for _, a := range alts {
		literal = literal && !strings.ContainsAny(a, "*?[")
	}
	switch {
	case literal && len(alts) == 1:
		return nodeMatcher{kind: matchLiteral, literal: alts[0]}, nil
	case literal:
		set := make(map[string]struct{}, len(alts))
		for _, a := range alts {
			set[a] = struct{}{}
		}
		return nodeMatcher{kind: matchSet, set: set}, nil
	}
	m := nodeMatcher{kind: matchGlobs, globs: make([][]globToken, len(alts))}
	for i, a := range alts {
		if m.globs[i], err = compileGlob(a); err != nil {
			return nodeMatcher{}, err
		}
	}
	return m, nil
}

// expandBraces returns the distinct brace-free alternatives that s stands
// for: "a{b,c{d,e}}f" gives abf, acdf, acef. The braces are parsed once
// into a tree and the count of alternatives is checked before any is
// built, so the work is bounded by the size of the (bounded) result.
func expandBraces(s string, remaining *int) ([]string, error) {
	seq, end, err := parseBraces(s, 0, false)
	if err != nil {
		return nil, err
	}
	if end != len(s) {
		return nil, queryErrorf("unmatched '}'")
	}
	if n, size := seq.count(); n > maxAlternatives || size > maxExpandedBytes {
		return nil, queryErrorf("braces expand to more than %d alternatives or %d bytes", maxAlternatives, maxExpandedBytes)
	} else if remaining != nil {
		if n > *remaining {
			return nil, &LimitError{Limit: "graphite-max-glob-alternatives", Msg: "the request's glob patterns expand to more alternatives than the limit"}
		}
		*remaining -= n
	}
	out := seq.expand()
	slices.Sort(out)
	return slices.Compact(out), nil
}

// maxExpandedBytes bounds the total length of a node's alternatives.
const maxExpandedBytes = 1 << 20

// braceSeq is a concatenation of literal runs and brace groups.
type braceSeq []braceItem

// braceItem is a literal run (alts nil) or a group of alternatives.
type braceItem struct {
	lit  string
	alts []braceSeq
}

// parseBraces parses s from i up to its end or, inside a group, up to the
// "," or "}" that ends the current alternative, whose index it returns.
func parseBraces(s string, i int, inGroup bool) (braceSeq, int, error) {
	var seq braceSeq
	lit := i
	for i < len(s) {
		switch s[i] {
		case '{':
			if i > lit {
				seq = append(seq, braceItem{lit: s[lit:i]})
			}
			item, next, err := parseGroup(s, i)
			if err != nil {
				return nil, 0, err
			}
			seq = append(seq, item)
			i, lit = next, next
			continue
		case ',', '}':
			if inGroup || s[i] == '}' {
				return append(seq, braceItem{lit: s[lit:i]}), i, nil
			}
		}
		i++
	}
	if inGroup {
		return nil, 0, queryErrorf("unclosed '{'")
	}
	return append(seq, braceItem{lit: s[lit:i]}), i, nil
}

// parseGroup parses the group that opens at s[open] and returns the index
// just past its "}".
func parseGroup(s string, open int) (braceItem, int, error) {
	var item braceItem
	for i := open; ; {
		alt, end, err := parseBraces(s, i+1, true)
		if err != nil {
			return braceItem{}, 0, err
		}
		item.alts = append(item.alts, alt)
		if s[end] == '}' {
			return item, end + 1, nil
		}
		i = end
	}
}

// count returns how many alternatives seq expands to and their total
// length, both saturating just past the limits.
func (seq braceSeq) count() (n, size int) {
	n, size = 1, 0
	for _, it := range seq {
		if it.alts == nil {
			size += n * len(it.lit)
		} else {
			gn, gsize := 0, 0
			for _, a := range it.alts {
				an, asize := a.count()
				gn, gsize = gn+an, gsize+asize
			}
			size = size*gn + n*gsize
			n *= gn
		}
		if n > maxAlternatives || size > maxExpandedBytes {
			return maxAlternatives + 1, maxExpandedBytes + 1
		}
	}
	return n, size
}

// expand builds every alternative of seq; count must have bounded them.
func (seq braceSeq) expand() []string {
	out := []string{""}
	for _, it := range seq {
		if it.alts == nil {
			for i := range out {
				out[i] += it.lit
			}
			continue
		}
		var tails []string
		for _, a := range it.alts {
			tails = append(tails, a.expand()...)
		}
		next := make([]string, 0, len(out)*len(tails))
		for _, head := range out {
			for _, tail := range tails {
				next = append(next, head+tail)
			}
		}
		out = next
	}
	return out
}

// globToken is one element of a brace-free glob.
type globToken struct {
	kind  byte   // one of the tok* constants
	lit   string // tokLiteral: the bytes to match
	class charClass
}

const (
	tokLiteral = iota // a run of literal bytes
	tokAny            // "?": one character
	tokStar           // "*": any run of characters
	tokClass          // "[...]": one character of a set
)

// compileGlob compiles a brace-free glob into tokens; consecutive stars
// collapse into one, which keeps matching linear in them.
func compileGlob(s string) ([]globToken, error) {
	var toks []globToken
	lit := 0 // start of the pending literal run
	flush := func(i int) {
		if i > lit {
			toks = append(toks, globToken{kind: tokLiteral, lit: s[lit:i]})
		}
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case '*':
			flush(i)
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, globToken{kind: tokStar})
			}
			i++
		case '?':
			flush(i)
			toks = append(toks, globToken{kind: tokAny})
			i++
		case '[':
			flush(i)
			class, n, err := parseClass(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, globToken{kind: tokClass, class: class})
			i += n
		default:
			i++
			continue
		}
		lit = i
	}
	flush(len(s))
	return toks, nil
}

// charClass is a "[...]" set: single characters and inclusive ranges.
type charClass struct {
	negated bool
	ranges  [][2]rune
}

func (c *charClass) matches(r rune) bool {
	in := false
	for _, rg := range c.ranges {
		if r >= rg[0] && r <= rg[1] {
			in = true
			break
		}
	}
	return in != c.negated
}

// parseClass parses the "[...]" at the start of s as Python's fnmatch does
// ("!" first negates; a "]" first is literal; "-" between two characters is
// a range, elsewhere literal) and returns its length.
func parseClass(s string) (charClass, int, error) {
	var c charClass
	i := 1
	if i < len(s) && s[i] == '!' {
		c.negated = true
		i++
	}
	for first := true; i < len(s); first = false {
		if s[i] == ']' && !first {
			return c, i + 1, nil
		}
		lo, n := utf8.DecodeRuneInString(s[i:])
		i += n
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			hi, n = utf8.DecodeRuneInString(s[i+1:])
			i += 1 + n
		}
		c.ranges = append(c.ranges, [2]rune{lo, hi}) // lo > hi matches nothing, as in fnmatch
	}
	return c, 0, queryErrorf("unclosed '['")
}

// matchGlob reports whether s matches the tokens. It is the classic
// wildcard matcher: on a mismatch it retries the tokens after the last
// star one character further on, which is enough because every other token
// has a fixed length in characters. Time is O(len(s) * len(toks)).
func matchGlob(toks []globToken, s []byte) bool {
	ti, si := 0, 0
	star, starSi := -1, 0 // last star seen, and where its run ends so far
	for {
		if ti < len(toks) {
			if t := &toks[ti]; t.kind == tokStar {
				star, starSi = ti, si
				ti++
				continue
			} else if n := t.matchAt(s[si:]); n >= 0 {
				ti, si = ti+1, si+n
				continue
			}
		} else if si == len(s) {
			return true
		}
		if star < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRune(s[starSi:])
		starSi += n
		ti, si = star+1, starSi
	}
}

// matchAt returns how many bytes at the start of s the token matches, or
// -1 if it doesn't. A star never reaches here.
func (t *globToken) matchAt(s []byte) int {
	switch t.kind {
	case tokLiteral:
		if len(s) >= len(t.lit) && string(s[:len(t.lit)]) == t.lit {
			return len(t.lit)
		}
		return -1
	}
	if len(s) == 0 {
		return -1
	}
	r, n := utf8.DecodeRune(s)
	if t.kind == tokClass && !t.class.matches(r) {
		return -1
	}
	return n
}
