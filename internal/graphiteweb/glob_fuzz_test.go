package graphiteweb

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceRegexp translates one brace-free node glob into a regular
// expression the way Python's fnmatch.translate does, independently of
// compileGlob; ok is false for a glob that compileGlob should refuse.
func referenceRegexp(glob string) (re string, ok bool) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(glob); {
		r, n := utf8.DecodeRuneInString(glob[i:])
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			class, size, ok := referenceClass(glob[i:])
			if !ok {
				return "", false
			}
			b.WriteString(class)
			n = size
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += n
	}
	b.WriteString(`$`)
	return b.String(), true
}

// referenceClass translates the "[...]" at the start of s.
func referenceClass(s string) (re string, size int, ok bool) {
	j := 1
	if j < len(s) && s[j] == '!' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	end := strings.IndexByte(s[j:], ']')
	if end < 0 {
		return "", 0, false
	}
	body := s[1 : j+end]
	negated := strings.HasPrefix(body, "!")
	body = strings.TrimPrefix(body, "!")
	var alts []string
	runes := []rune(body)
	for k := 0; k < len(runes); k++ {
		lo, hi := runes[k], runes[k]
		if k+2 < len(runes) && runes[k+1] == '-' {
			hi = runes[k+2]
			k += 2
		}
		if lo <= hi {
			alts = append(alts, fmt.Sprintf(`\x{%x}-\x{%x}`, lo, hi))
		}
	}
	switch {
	case len(alts) == 0 && negated:
		return `.`, j + end + 1, true
	case len(alts) == 0:
		return `[^\x00-\x{10FFFF}]`, j + end + 1, true // matches nothing
	case negated:
		return `[^` + strings.Join(alts, "") + `]`, j + end + 1, true
	}
	return `[` + strings.Join(alts, "") + `]`, j + end + 1, true
}

// FuzzPatternMatch checks the glob matcher against a regular expression
// built from the same pattern, on one node (no dots).
func FuzzPatternMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"p*m", "palm"}, {"web[0-9]", "web1"}, {"[!a-c]?", "dx"}, {"{a*,b?}", "bq"},
		{"*a*a*b", "aaab"}, {"[]x]", "]"}, {"[a-]", "-"}, {"é[é-ê]", "éê"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if pattern == "" || strings.Contains(pattern, ".") || strings.Contains(name, ".") || !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return
		}
		p, err := CompilePattern(pattern)
		alts, berr := expandBraces(pattern, nil)
		if berr != nil {
			if err == nil {
				t.Fatalf("CompilePattern(%q) accepted what expandBraces refused: %v", pattern, berr)
			}
			return
		}
		if len(alts) > 64 || len(pattern) > 512 {
			return // the reference compiles one regexp per alternative: keep it quick
		}
		want, valid := false, true
		for _, a := range alts {
			re, ok := referenceRegexp(a)
			if !ok {
				valid = false
				break
			}
			want = want || regexp.MustCompile(re).MatchString(name)
		}
		if !valid {
			if err == nil {
				t.Fatalf("CompilePattern(%q) accepted an unclosed '['", pattern)
			}
			return
		}
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", pattern, err)
		}
		if got := p.Match([]byte(name)); got != want {
			t.Fatalf("%q matching %q = %v, reference says %v", pattern, name, got, want)
		}
	})
}
