package tags

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"testing"
)

// carbonName is one row of testdata/carbon_names.json: what carbon 1.1.7's
// own TaggedSeries.parse made of a name (regenerate with
// testdata/carbon_names.py on a machine with Debian's graphite-carbon).
type carbonName struct {
	Name  string            `json:"name"`
	Path  string            `json:"path"`
	Tags  map[string]string `json:"tags"`
	Error string            `json:"error"`
}

// notReparsing lists the names carbon accepts but whose path it cannot
// parse back into the same series; Normalize refuses them on purpose.
var notReparsing = map[string]bool{
	`m;x{a="1"}`:  true, // carbon stores "m;x;a=1", which is not tag "x"
	`n;b={"};a=1`: true, // carbon stores `n;a=1;b={"}`, which reads as OpenMetrics
}

func TestNormalizeMatchesCarbon(t *testing.T) {
	raw, err := os.ReadFile("testdata/carbon_names.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []carbonName
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 40 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	for _, r := range rows {
		got, err := Normalize(r.Name)
		switch {
		case notReparsing[r.Name]:
			if !errors.Is(err, ErrNotReparsing) {
				t.Errorf("Normalize(%q) = %q, %v; want ErrNotReparsing", r.Name, got, err)
			}
		case r.Error != "":
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want an error as carbon raises %s", r.Name, got, r.Error)
			}
		case err != nil || got != r.Path:
			t.Errorf("Normalize(%q) = %q, %v; carbon's path is %q", r.Name, got, err, r.Path)
		}

		tags, err := Parse(r.Name)
		switch {
		case r.Error != "":
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", r.Name, tags)
			}
		case notReparsing[r.Name] && errors.Is(err, ErrNotReparsing):
		case err != nil || !maps.Equal(tags, r.Tags):
			t.Errorf("Parse(%q) = %v, %v; carbon's tags are %v", r.Name, tags, err, r.Tags)
		}
	}
}

func TestIsNormalized(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"a.b.c", true},
		{"a;a=1;b=2", true},
		{"a;b=2;a=1", false},    // unsorted
		{"a;a=1;a=2", false},    // duplicated tag
		{"a;a-=2;a=1", true},    // "-" sorts below "="
		{"a;a=1;a-=2", false},   // the same tags, in tag-name order
		{"a;name=x", false},     // carbon drops the name tag
		{"~a;b=1", false},       // carbon strips the "~"
		{"a;b=", false},         // empty value
		{"a;b", false},          // no "="
		{"", false},             // no metric
		{`m{a="1"}`, false},     // OpenMetrics form
		{"a;b=c=d", true},       // "=" may be in a value
		{"a=b;c=d", true},       // and in the metric
		{"a;b=1;;c=2", false},   // an empty segment
		{"a;b!=1", false},       // prohibited tag character
		{"té;a=é;ü=1", true},    // code point order
		{"a;b=~x", false},       // value starting with "~"
		{"a;b=x~", true},        // "~" elsewhere is fine
		{"a;B=1;a=1", true},     // upper case sorts first
		{"a;a=1;b=2;", false},   // trailing empty segment
		{"a;ab=1;a=2", false},   // "a=" sorts below "ab="
		{"a;a=2;ab=1", true},    //
		{"a{b;c=d", true},       // "{" without the `"}` suffix is plain carbon form
		{`a;b=x{"}`, false},     // would read back as OpenMetrics
		{"~", false},            //
		{"a;\xff=1", true},      // bytes are compared as bytes
		{"a;z=1;y=2", false},    //
		{"a;y=2;z=1", true},     //
		{"a;0=1;A=1;_=1", true}, //
	}
	for _, tt := range tests {
		if got := IsNormalized(tt.name); got != tt.want {
			t.Errorf("IsNormalized(%q) = %v, want %v", tt.name, got, tt.want)
		}
		if tt.want {
			if got, err := Normalize(tt.name); err != nil || got != tt.name {
				t.Errorf("Normalize(%q) = %q, %v; want it unchanged", tt.name, got, err)
			}
		}
	}
}

func TestAppendNormalized(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"a.b", "a.b", nil},
		{"a;b=2;a=1", "a;a=1;b=2", nil},
		{"~x", "x", nil},
		{"a;b", "", ErrSegment},
		{"", "", ErrNoMetric},
		{"a;b=~1", "", ErrValueTilde},
		{"a;b=", "", ErrEmptyValue},
		{"a;b^=1", "", ErrTagChar},
		{"~~", "", ErrEmptyName},
		{`m{a="x;y"}`, "", ErrValueChar},
	}
	scratch := make([]byte, 0, 64)
	for _, tt := range tests {
		got, err := AppendNormalized(scratch, []byte(tt.in))
		if !errors.Is(err, tt.err) || string(got) != tt.want {
			t.Errorf("AppendNormalized(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestNormalizedAllocations pins the ingest hot path: an untagged or an
// already sorted tagged name costs no allocation, and sorting a few tags
// into a scratch buffer with room costs none either.
func TestNormalizedAllocations(t *testing.T) {
	scratch := make([]byte, 0, 256)
	for _, tt := range []struct {
		name string
		max  float64
	}{
		{"servers.web01.cpu.user", 0},
		{"cpu.user;dc=eu;host=web01;rack=r1", 0},
		{"cpu.user;host=web01;dc=eu;rack=r1", 0},
	} {
		b := []byte(tt.name)
		n := testing.AllocsPerRun(100, func() {
			if _, err := AppendNormalized(scratch, b); err != nil {
				t.Fatal(err)
			}
		})
		if n > tt.max {
			t.Errorf("AppendNormalized(%q): %v allocations, want at most %v", tt.name, n, tt.max)
		}
	}
	n := testing.AllocsPerRun(100, func() {
		if v, ok := Value("cpu.user;dc=eu;host=web01", "host"); !ok || v != "web01" {
			t.Fatal("Value lost host")
		}
	})
	if n != 0 {
		t.Errorf("Value: %v allocations, want 0", n)
	}
}

func TestTags(t *testing.T) {
	tests := []struct {
		name string
		want map[string]string
	}{
		{"a.b.c", map[string]string{"name": "a.b.c"}},
		{"cpu;host=a;dc=eu", map[string]string{"name": "cpu", "host": "a", "dc": "eu"}},
		{"~cpu;host=a", map[string]string{"name": "cpu", "host": "a"}},
		{"sumSeries(a.*)", map[string]string{"name": "sumSeries(a.*)"}},
		{"sumSeries(a;b=1)", map[string]string{"name": "sumSeries(a;b=1)"}}, // function-like: not parsed
		{"a;b", map[string]string{"name": "a;b"}},                           // does not parse
		{`m{b="2"}`, map[string]string{"name": "m", "b": "2"}},
		{"~", map[string]string{"name": "~"}},
	}
	for _, tt := range tests {
		if got := Tags(tt.name); !maps.Equal(got, tt.want) {
			t.Errorf("Tags(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	const n = "cpu.user;dc=eu;host=web01;x=a=b"
	tests := []struct {
		tag, want string
		ok        bool
	}{
		{"name", "cpu.user", true},
		{"dc", "eu", true},
		{"host", "web01", true},
		{"x", "a=b", true},
		{"rack", "", false},
		{"d", "", false},
	}
	for _, tt := range tests {
		if got, ok := Value(n, tt.tag); got != tt.want || ok != tt.ok {
			t.Errorf("Value(%q, %q) = %q, %v; want %q, %v", n, tt.tag, got, ok, tt.want, tt.ok)
		}
	}
}
