package target

import (
	"fmt"
	"strings"
	"testing"
)

// show prints a node as a compact S-expression, for table tests.
func show(n Node) string {
	switch n := n.(type) {
	case *PathExpr:
		return n.Path
	case *Number:
		if n.Int {
			return "int:" + n.String()
		}
		return "float:" + n.String()
	case *String:
		return fmt.Sprintf("%q", n.Value)
	case *Bool:
		return fmt.Sprint(n.Value)
	case *None:
		return "None"
	case *Call:
		parts := []string{}
		for _, a := range n.Args {
			parts = append(parts, show(a))
		}
		for _, k := range n.Kwargs {
			parts = append(parts, k.Name+"="+show(k.Value))
		}
		return n.Name + "(" + strings.Join(parts, " ") + ")"
	}
	return "?"
}

func TestParse(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		n, err := Parse(in)
		if err != nil {
			if want != "error" {
				t.Errorf("Parse(%q): %v", in, err)
			}
			return
		}
		if got := show(n); got != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
	}
	f("a.b.c", "a.b.c")
	f("servers.*.cpu.{user,system}", "servers.*.cpu.{user,system}")
	f("a.b[0-9]?.c", "a.b[0-9]?.c")
	f(`a\(b\).c`, "a(b).c")
	f(`aliasSub(a.*, "(^.*$)", "\1 A")`, `aliasSub(a.* "(^.*$)" "\\1 A")`)
	f("sumSeries(a.*, b.*)", "sumSeries(a.* b.*)")
	f("scale(a, -2)", "scale(a int:-2)")
	f("scale(a, 2.5)", "scale(a float:2.5)")
	f("scale(a, 1e3)", "scale(a float:1000.0)")
	f("movingAverage(a, '5min', xFilesFactor=0.5)", `movingAverage(a "5min" xFilesFactor=float:0.5)`)
	f("keepLastValue(a, inf)", "keepLastValue(a float:inf)")
	f("sortBy(a, 'max', True)", `sortBy(a "max" true)`)
	f("transformNull(a, None)", "transformNull(a None)")
	f("a.b | scale(2) | alias('x')", `alias(scale(a.b int:2) "x")`)
	f("  sum ( a , b )  ", "sum(a b)")
	f("1abc", "1abc")
	f("f()", "f()")
	f(`alias(a, "say ""hi""")`, `alias(a "say \"\"hi\"\"")`)
	for _, bad := range []string{"", "f(", "f(a", "f(a,)", "a.", ".a", "f(a) x", "'s'(", "f(a=1, b)", `f("x)`, "a{b", "a|b"} {
		f(bad, "error")
	}
	if _, err := Parse(strings.Repeat("f(", 200) + "a" + strings.Repeat(")", 200)); err == nil {
		t.Error("deep nesting parsed")
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]int64{"1h": 3600, "-1h": -3600, "5min": 300, "2d": 172800, "1w": 604800, "1mon": 2592000, "1y": 31536000, "1h30min": 5400, "10seconds": 10, "": 0, "-": 0} {
		if got, err := ParseInterval(in); err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"5", "1m", "h", "1x"} {
		if _, err := ParseInterval(bad); err == nil {
			t.Errorf("ParseInterval(%q) succeeded", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a.b", `aliasSub(sumSeries(a.*), "(^.*$)", "\1 A")`, "a | scale(2)", "f(x=1)", "a{b,c}.d[0-9]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !IsError(err) {
				t.Fatalf("Parse(%q): error %v is not an *Error", s, err)
			}
			return
		}
		if n == nil {
			t.Fatalf("Parse(%q) = nil, nil", s)
		}
	})
}
