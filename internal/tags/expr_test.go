package tags

import (
	"errors"
	"slices"
	"testing"
)

func TestParseExpr(t *testing.T) {
	tests := []struct {
		in    string
		tag   string
		op    Op
		spec  string
		empty bool // matches a series without the tag
		err   error
	}{
		{in: "host=web01", tag: "host", op: OpEqual, spec: "web01"},
		{in: "host=", tag: "host", op: OpEqual, spec: "", empty: true},
		{in: "host!=web01", tag: "host", op: OpNotEqual, spec: "web01", empty: true},
		{in: "host!=", tag: "host", op: OpNotEqual, spec: ""},
		{in: "host=~web.*", tag: "host", op: OpMatch, spec: "web.*"},
		{in: "host=~.*", tag: "host", op: OpMatch, spec: ".*", empty: true},
		{in: "host!=~web.*", tag: "host", op: OpNotMatch, spec: "web.*", empty: true},
		{in: "host!=~.*", tag: "host", op: OpNotMatch, spec: ".*"},
		{in: "name=a.b", tag: "name", op: OpEqual, spec: "a.b"},
		{in: "a=b=c", tag: "a", op: OpEqual, spec: "b=c"},
		{in: "a=~~x", tag: "a", op: OpMatch, spec: "~x"},
		{in: "a==", tag: "a", op: OpEqual, spec: "="},
		{in: "=x", err: ErrExpr},
		{in: "host", err: ErrExpr},
		{in: "a!x", err: ErrExpr},
		{in: "a;b=c", err: ErrExpr},
		{in: "a=b;c", err: ErrExpr},
		{in: "", err: ErrExpr},
		{in: "a!", err: ErrExpr},
		{in: "a=~(", err: ErrRegexp},
		{in: "a=~(?=x)", err: ErrRegexp}, // Python's look-ahead is not RE2
	}
	for _, tt := range tests {
		e, err := ParseExpr(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseExpr(%q) = %+v, %v; want %v", tt.in, e, err, tt.err)
			}
			continue
		}
		if err != nil || e.Tag != tt.tag || e.Op != tt.op || e.Spec != tt.spec || e.matchesEmpty != tt.empty {
			t.Errorf("ParseExpr(%q) = %q %v %q empty=%v, %v; want %q %v %q empty=%v",
				tt.in, e.Tag, e.Op, e.Spec, e.matchesEmpty, err, tt.tag, tt.op, tt.spec, tt.empty)
		}
		if err == nil && e.String() != tt.in {
			t.Errorf("ParseExpr(%q).String() = %q", tt.in, e.String())
		}
	}
}

// matchNames are the series of the matcher table: normalized names as the
// store holds them, plus one that is not normalized and so is not in the
// tag database.
var matchNames = []string{
	"cpu;dc=eu;host=web01",
	"cpu;dc=us;host=web02",
	"cpu;host=db01",
	"disk;dc=eu;host=web01",
	"plain.metric",
	"cpu;host=b;dc=eu", // not normalized: never matches
	"mem;host=xweb",
}

func TestMatcher(t *testing.T) {
	tests := []struct {
		exprs []string
		want  []string
		err   error
	}{
		{[]string{"name=cpu"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "cpu;host=db01"}, nil},
		{[]string{"name=cpu", "dc=eu"}, []string{"cpu;dc=eu;host=web01"}, nil},
		// != with a value matches series without the tag
		{[]string{"name=cpu", "dc!=eu"}, []string{"cpu;dc=us;host=web02", "cpu;host=db01"}, nil},
		// = with an empty value selects series without the tag
		{[]string{"name=cpu", "dc="}, []string{"cpu;host=db01"}, nil},
		// != with an empty value requires the tag
		{[]string{"dc!="}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "disk;dc=eu;host=web01"}, nil},
		// regular expressions are anchored at the start only
		{[]string{"host=~web"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "disk;dc=eu;host=web01"}, nil},
		{[]string{"host=~.*web"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "disk;dc=eu;host=web01", "mem;host=xweb"}, nil},
		{[]string{"host=~web0[12]$"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "disk;dc=eu;host=web01"}, nil},
		{[]string{"name=cpu", "host!=~web"}, []string{"cpu;host=db01"}, nil},
		// a regexp matching "" is a filter: series without the tag pass
		{[]string{"name=cpu", "dc=~(eu|)$"}, []string{"cpu;dc=eu;host=web01", "cpu;host=db01"}, nil},
		// ... and without "$" it matches a prefix of every value
		{[]string{"name=cpu", "dc=~(eu|)"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "cpu;host=db01"}, nil},
		// !=~ with a pattern matching "" requires the tag and refuses matches
		{[]string{"dc!=~.*"}, nil, nil},
		{[]string{"name=cpu", "dc!=~(us)?$"}, []string{"cpu;dc=eu;host=web01"}, nil},
		{[]string{"name=cpu", "dc!=~u*"}, nil, nil},
		// untagged series have their name tag
		{[]string{"name=plain.metric"}, []string{"plain.metric"}, nil},
		{[]string{"name=~plain"}, []string{"plain.metric"}, nil},
		// an anchored pattern with alternation: the joined test searches,
		// as SQLite's REGEXP does, so "^d|web" finds "xweb" too
		{[]string{"host=~^d|web"}, []string{"cpu;dc=eu;host=web01", "cpu;dc=us;host=web02", "cpu;host=db01", "disk;dc=eu;host=web01", "mem;host=xweb"}, nil},
		// errors
		{[]string{"dc!=eu"}, nil, ErrOnlyEmpty},
		{[]string{"dc=", "host!=x"}, nil, ErrOnlyEmpty},
		{[]string{"host=~.*"}, nil, ErrOnlyEmpty},
		{nil, nil, ErrNoExprList},
		{[]string{"name=cpu", "bad"}, nil, ErrExpr},
	}
	for _, tt := range tests {
		m, err := NewMatcher(tt.exprs...)
		if tt.err != nil || err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("NewMatcher(%q): %v, want %v", tt.exprs, err, tt.err)
			}
			continue
		}
		var got []string
		for _, n := range matchNames {
			if m.Match(n) {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("NewMatcher(%q) matched %q, want %q", tt.exprs, got, tt.want)
		}
	}
}

func TestMatchAllocations(t *testing.T) {
	m, err := NewMatcher("name=cpu", "dc!=us", "host=~web")
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if !m.Match("cpu;dc=eu;host=web01") {
			t.Fatal("no match")
		}
	})
	if n != 0 {
		t.Errorf("Match: %v allocations, want 0", n)
	}
}
