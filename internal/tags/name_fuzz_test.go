package tags

import (
	"maps"
	"testing"
)

// FuzzNormalize checks, for any name: Normalize never panics; what it
// returns is normalized, normalizes to itself and has the same tags as the
// input (carbon's parse of both agrees); IsNormalized names are returned
// unchanged; and AppendNormalized agrees with Normalize.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"a.b", "a;b=2;a=1", "~a;b=1;b=2", `m{b="2",a="1"}`, `m{a="x\"y":,b="\\"}`, "a;name=x;a-=1;a=2",
		"a;b", "n;b={\"};a=1", "té;ü=1;a=é", ";", "~", "a;b=~1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := Normalize(name)
		app, err2 := AppendNormalized(nil, []byte(name))
		if (err == nil) != (err2 == nil) || (err == nil && string(app) != got) {
			t.Fatalf("Normalize(%q) = %q, %v but AppendNormalized = %q, %v", name, got, err, app, err2)
		}
		if IsNormalized(name) && (err != nil || got != name) {
			t.Fatalf("IsNormalized(%q) but Normalize = %q, %v", name, got, err)
		}
		if err != nil {
			return
		}
		if !IsNormalized(got) {
			t.Fatalf("Normalize(%q) = %q, which is not normalized", name, got)
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; not idempotent from %q", got, again, err, name)
		}
		in, err := Parse(name)
		if err != nil {
			t.Fatalf("Normalize(%q) succeeded but Parse: %v", name, err)
		}
		out, err := Parse(got)
		if err != nil || !maps.Equal(in, out) {
			t.Fatalf("tags of %q are %v, of its path %q are %v (%v)", name, in, got, out, err)
		}
		for tag, v := range out {
			if w, ok := Value(got, tag); !ok || w != v {
				t.Fatalf("Value(%q, %q) = %q, %v; want %q", got, tag, w, ok, v)
			}
		}
	})
}

// FuzzParseExpr checks that any expression parses or is refused without a
// panic, that a parsed one prints back as written, and that a matcher built
// from it never panics on a name.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"a=b", "a!=", "a=~x.*", "a!=~^(x|y)$", "=", "a;b", "a=~("} {
		f.Add(s, "cpu;a=x;b=y")
	}
	f.Fuzz(func(t *testing.T, expr, name string) {
		e, err := ParseExpr(expr)
		if err != nil {
			return
		}
		if e.String() != expr {
			t.Fatalf("ParseExpr(%q).String() = %q", expr, e.String())
		}
		if m, err := NewMatcher(expr, "name=cpu"); err == nil {
			m.Match(name)
		}
	})
}
