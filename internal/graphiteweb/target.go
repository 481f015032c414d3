package graphiteweb

import (
	"strconv"
	"strings"

	"metricsd/internal/protocol"
)

// Target is one target of a render request: a path pattern, whose
// matching series are returned, or constantLine(value), the one function
// metricsd evaluates (Grafana's "Save & test" renders constantLine(100)).
type Target struct {
	// Pattern is the path pattern; nil for a constant.
	Pattern *Pattern
	// Constant is the value of constantLine; Name is the series name
	// graphite-web gives it (the number as Python prints it).
	Constant float64
	Name     string
}

// ParseTarget parses a render target. Graphite functions other than
// constantLine are refused with a QueryError naming the function: metricsd
// serves raw series, and an answer silently ignoring a function would be
// wrong.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, queryErrorf("empty target")
	}
	open := strings.IndexByte(s, '(')
	if open < 0 {
		if strings.ContainsAny(s, ")\"' \t") {
			return Target{}, queryErrorf("invalid target %q: a path can't hold quotes, spaces or ')'", s)
		}
		p, err := CompilePattern(s)
		if err != nil {
			return Target{}, err
		}
		return Target{Pattern: p}, nil
	}
	name := s[:open]
	if !isFuncName(name) || !strings.HasSuffix(s, ")") {
		return Target{}, queryErrorf("invalid target %q", s)
	}
	if name != "constantLine" {
		return Target{}, queryErrorf("unsupported function %q in target %q: metricsd renders paths, globs and constantLine(value)", name, s)
	}
	return parseConstantLine(strings.TrimSpace(s[open+1:len(s)-1]), s)
}

func isFuncName(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// parseConstantLine parses constantLine's argument, a number literal as
// Graphite's grammar has them: an integer, or a decimal with an optional
// fraction and exponent.
func parseConstantLine(arg, target string) (Target, error) {
	if arg == "" || strings.Trim(arg, "0123456789+-.eE") != "" {
		return Target{}, queryErrorf("constantLine needs one number, got %q in target %q", arg, target)
	}
	if i, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return Target{Constant: float64(i), Name: strconv.FormatInt(i, 10)}, nil
	}
	f, err := strconv.ParseFloat(arg, 64)
	if err != nil {
		return Target{}, queryErrorf("constantLine needs one number, got %q in target %q", arg, target)
	}
	return Target{Constant: f, Name: string(protocol.AppendFloat(nil, f))}, nil
}
