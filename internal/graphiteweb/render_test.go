package graphiteweb

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"metricsd/internal/store"
)

// putAll stores "key value ts" lines.
func putAll(t testing.TB, st store.Storage, lines ...string) {
	t.Helper()
	for _, l := range lines {
		var key string
		var v float64
		var ts int64
		if _, err := fmt.Sscan(l, &key, &v, &ts); err != nil {
			t.Fatalf("bad test line %q: %v", l, err)
		}
		if err := st.Put([]byte(key), store.Point{Timestamp: ts, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
}

func mustTargets(t testing.TB, targets ...string) []Target {
	t.Helper()
	var out []Target
	for _, s := range targets {
		tg, err := ParseTarget(s)
		if err != nil {
			t.Fatalf("ParseTarget(%q): %v", s, err)
		}
		out = append(out, tg)
	}
	return out
}

func mustSchemas(t testing.TB, text string) *Schemas {
	t.Helper()
	s, err := ParseSchemas(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func renderString(t testing.TB, e *Engine, req RenderRequest) string {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Render(context.Background(), &buf, req); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

// TestRenderStepGrid pins the grid: slots from the first step after from
// to the one holding until, timestamps snapped down, the latest point of a
// slot winning, null where nothing is stored, NaN skipped.
func TestRenderStepGrid(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st, "a.x 1 1000", "a.x 2 1013", "a.x 3 1017", "a.x 4 1040", "a.x 5 1065", "a.x nan 1040")
	e := &Engine{Storage: st, Schemas: mustSchemas(t, "[a]\npattern = ^a\\.\nretentions = 10s:1d\n")}
	f := func(from, until int64, want string) {
		t.Helper()
		got := renderString(t, e, RenderRequest{Targets: mustTargets(t, "a.x"), From: from, Until: until})
		if got != want {
			t.Errorf("(%d, %d]:\n got %s\nwant %s", from, until, got, want)
		}
	}
	f(1000, 1060, `[{"target": "a.x", "tags": {"name": "a.x"}, "datapoints": [[3.0, 1010], [null, 1020], [null, 1030], [null, 1040], [null, 1050], [5.0, 1060]]}]`)
	f(999, 1020, `[{"target": "a.x", "tags": {"name": "a.x"}, "datapoints": [[1.0, 1000], [3.0, 1010], [null, 1020]]}]`)
	f(1005, 1009, `[{"target": "a.x", "tags": {"name": "a.x"}, "datapoints": [[3.0, 1010]]}]`)
	// A key with no point in the range: a series of nulls.
	f(2000, 2020, `[{"target": "a.x", "tags": {"name": "a.x"}, "datapoints": [[null, 2010], [null, 2020]]}]`)
}

// TestRenderDefaultStep: without a matching rule, the step is the
// smallest spacing of the points in the range.
func TestRenderDefaultStep(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st, "c 1 100", "c 2 101", "c 3 103", "lone 7 150")
	e := &Engine{Storage: st}
	got := renderString(t, e, RenderRequest{Targets: mustTargets(t, "c", "lone"), From: 99, Until: 103})
	want := `[{"target": "c", "tags": {"name": "c"}, "datapoints": [[1.0, 100], [2.0, 101], [null, 102], [3.0, 103]]}, ` +
		`{"target": "lone", "tags": {"name": "lone"}, "datapoints": [[7.0, 120]]}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestRenderMaxDataPoints follows graphite-web's renderViewJson: values
// per point from range/step, the start nudged to a multiple of the new
// step.
func TestRenderMaxDataPoints(t *testing.T) {
	st := store.NewMemory()
	for i := range 12 {
		putAll(t, st, fmt.Sprintf("m %d %d", i+1, 1000+10*i))
	}
	e := &Engine{Storage: st, Schemas: mustSchemas(t, "[all]\npattern = .*\nretentions = 10:100\n")}
	got := renderString(t, e, RenderRequest{Targets: mustTargets(t, "m"), From: 990, Until: 1110, MaxDataPoints: 5})
	// 12 slots 1000..1110, 3 per point; nudge = 30 + 0 - 1000%30 = 20:
	// start 1020, one value dropped.
	want := `[{"target": "m", "tags": {"name": "m"}, "datapoints": [[3.0, 1020], [6.0, 1050], [9.0, 1080], [11.5, 1110]]}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRenderFormats(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st, "a,b 1.5 1010", "a,b 2 1030")
	e := &Engine{Storage: st, Schemas: mustSchemas(t, "[all]\npattern = .*\nretentions = 10s:1d\n")}
	req := RenderRequest{Targets: mustTargets(t, `a\,b`), From: 1000, Until: 1030}
	req.Format = FormatCSV
	if got, want := renderString(t, e, req), "\"a,b\",1970-01-01 00:16:50,1.5\r\n\"a,b\",1970-01-01 00:17:00,\r\n\"a,b\",1970-01-01 00:17:10,2.0\r\n"; got != want {
		t.Errorf("csv: got %q want %q", got, want)
	}
	req.Format = FormatRaw
	if got, want := renderString(t, e, req), "a,b,1010,1040,10|1.5,None,2.0\n"; got != want {
		t.Errorf("raw: got %q want %q", got, want)
	}
}

func TestRenderLimits(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st, "a.1 1 1010", "a.2 1 1010", "a.3 1 1010")
	e := &Engine{Storage: st, Schemas: mustSchemas(t, "[all]\npattern = .*\nretentions = 10s:1d\n")}
	for _, tt := range []struct {
		limits Limits
		target string
		limit  string
	}{
		{Limits{MaxSeries: 2}, "a.*", "graphite-max-series"},
		{Limits{MaxPoints: 20}, "a.*", "graphite-max-points"},
		{Limits{MaxAlternatives: 3}, "a.{1,2,3,4}", "graphite-max-glob-alternatives"},
	} {
		e.Limits = tt.limits
		_, err := e.Evaluate(context.Background(), RenderRequest{Targets: mustTargets(t, tt.target), From: 1000, Until: 1100})
		if le, ok := err.(*LimitError); !ok || le.Limit != tt.limit {
			t.Errorf("%+v %s: err = %v, want limit %s", tt.limits, tt.target, err, tt.limit)
		}
	}
}
