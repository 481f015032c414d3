package graphiteweb

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"palm.cpu", []string{"palm.cpu"}, []string{"palm.cpu.user", "palm", "palm.cpux", "xpalm.cpu"}},
		{"palm.*", []string{"palm.cpu", "palm.mem", "palm."}, []string{"palm", "palm.cpu.user", "oak.cpu"}},
		{"*.cpu", []string{"palm.cpu", "oak.cpu", ".cpu"}, []string{"cpu", "a.b.cpu"}},
		{"*", []string{"palm", "x", ""}, []string{"palm.cpu"}},
		{"p*m.c?u", []string{"palm.cpu", "pm.cxu", "param.cpu"}, []string{"palm.cu", "palm.cpuu", "plam.cpu.x"}},
		{"web[0-9].load", []string{"web1.load", "web9.load"}, []string{"weba.load", "web10.load", "web.load"}},
		{"web[!0-9].load", []string{"weba.load"}, []string{"web1.load", "web.load"}},
		{"web[]a].x", []string{"web].x", "weba.x"}, []string{"webb.x"}},
		{"web[a-].x", []string{"weba.x", "web-.x"}, []string{"webb.x"}},
		{"web[z-a].x", nil, []string{"webz.x", "weba.x", "webm.x"}},
		{"{palm,oak}.cpu", []string{"palm.cpu", "oak.cpu"}, []string{"pine.cpu", "{palm,oak}.cpu"}},
		{"host.{cpu,mem{,ory}}.x", []string{"host.cpu.x", "host.mem.x", "host.memory.x"}, []string{"host.memo.x"}},
		{"{a*,b?}.z", []string{"a.z", "abc.z", "bx.z"}, []string{"b.z", "bxy.z", "c.z"}},
		{"pre{}post", []string{"prepost"}, []string{"pre{}post"}},
		{"é?.x", []string{"éé.x", "éa.x"}, []string{"é.x", "éab.x"}},
		{"[é-ê]", []string{"é", "ê"}, []string{"e", "ë"}},
		{"a.**.c", []string{"a.b.c", "a..c"}, []string{"a.b.x.c"}},
		{"*a*a*a*b", []string{"aaab", "xaxaxab"}, []string{"aaaa", "aab"}},
		{"a]b", []string{"a]b"}, []string{"ab"}},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Errorf("CompilePattern(%q): %v", tt.pattern, err)
			continue
		}
		for _, path := range tt.match {
			if !p.Match([]byte(path)) {
				t.Errorf("%q should match %q", tt.pattern, path)
			}
		}
		for _, path := range tt.noMatch {
			if p.Match([]byte(path)) {
				t.Errorf("%q should not match %q", tt.pattern, path)
			}
		}
	}
}

func TestCompilePatternErrors(t *testing.T) {
	for _, s := range []string{
		"", "a.{b", "a.b}", "a}{b", "a.[bc", "a.[]", "a.[!]", "{a,{b}", "x[",
		strings.Repeat("{a,b,c,d,e,f,g,h,i,j}", 5), // 10^5 alternatives
	} {
		_, err := CompilePattern(s)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("CompilePattern(%q) = %v, want a QueryError", s, err)
		}
	}
}

func TestPatternLiteral(t *testing.T) {
	for _, tt := range []struct {
		pattern, literal string // "" for no literal
	}{
		{"palm.cpu", "palm.cpu"}, {"a]b.c", "a]b.c"}, {"palm.{cpu}", "palm.cpu"},
		{"palm.*", ""}, {"palm.{cpu,mem}", ""}, {"p?", ""}, {"[a]", ""},
	} {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Literal()
		if ok != (tt.literal != "") || got != tt.literal {
			t.Errorf("Literal(%q) = %q, %v; want %q", tt.pattern, got, ok, tt.literal)
		}
	}
}

func TestPatternMatchPrefix(t *testing.T) {
	p, err := CompilePattern("a.*")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		end  int
		ok   bool
	}{
		{"a.b", 3, true}, {"a.b.c", 3, true}, {"a.bb.c.d", 4, true}, {"a", 0, false}, {"b.c", 0, false}, {"a.", 2, true},
	} {
		end, ok := p.MatchPrefix([]byte(tt.path))
		if end != tt.end || ok != tt.ok {
			t.Errorf("MatchPrefix(%q) = %d, %v; want %d, %v", tt.path, end, ok, tt.end, tt.ok)
		}
	}
}

func TestExpandBraces(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", "[abc]"},
		{"a{b,c}d", "[abd acd]"},
		{"{b,a,b}", "[a b]"},
		{"{a,b}{c,d}", "[ac ad bc bd]"},
		{"x{a,{b,c}y}z", "[xaz xbyz xcyz]"},
		{"{,x}", "[ x]"},
	} {
		got, err := expandBraces(tt.in, nil)
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("expandBraces(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
