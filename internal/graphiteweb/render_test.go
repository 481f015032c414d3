package graphiteweb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
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

func render(t testing.TB, st store.Storage, req RenderRequest) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(context.Background(), &buf, st, req); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

func TestRenderJSON(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st,
		"palm.cpu 23.7 1000", "palm.cpu 24 1060", "palm.cpu 25.5 1120", "palm.cpu 1e+16 1180",
		"palm.mem 1 1000", "oak.cpu 7 1060", "palm.cpu.user 3 1000")
	st.Put([]byte("odd.values"), store.Point{Timestamp: 1060, Value: math.NaN()})
	st.Put([]byte("odd.values"), store.Point{Timestamp: 1070, Value: math.Inf(1)})
	st.Put([]byte("odd.values"), store.Point{Timestamp: 1080, Value: math.Inf(-1)})
	st.Put([]byte("odd.values"), store.Point{Timestamp: 1090, Value: math.Copysign(0, -1)})
	tests := []struct {
		name        string
		targets     []string
		from, until int64
		want        string
	}{
		{"one path; from is exclusive, until inclusive", []string{"palm.cpu"}, 1000, 1120,
			`[{"target": "palm.cpu", "tags": {"name": "palm.cpu"}, "datapoints": [[24.0, 1060], [25.5, 1120]]}]`},
		{"glob, sorted by key", []string{"*.cpu"}, 0, 2000,
			`[{"target": "oak.cpu", "tags": {"name": "oak.cpu"}, "datapoints": [[7.0, 1060]]}, ` +
				`{"target": "palm.cpu", "tags": {"name": "palm.cpu"}, "datapoints": [[23.7, 1000], [24.0, 1060], [25.5, 1120], [1e+16, 1180]]}]`},
		{"several targets in order", []string{"palm.mem", "oak.cpu"}, 0, 2000,
			`[{"target": "palm.mem", "tags": {"name": "palm.mem"}, "datapoints": [[1.0, 1000]]}, ` +
				`{"target": "oak.cpu", "tags": {"name": "oak.cpu"}, "datapoints": [[7.0, 1060]]}]`},
		{"existing key, no point in range", []string{"palm.mem"}, 2000, 3000,
			`[{"target": "palm.mem", "tags": {"name": "palm.mem"}, "datapoints": []}]`},
		{"no such key", []string{"nope", "palm.{nope,none}"}, 0, 2000, `[]`},
		{"NaN and infinities are null", []string{"odd.values"}, 0, 2000,
			`[{"target": "odd.values", "tags": {"name": "odd.values"}, "datapoints": [[null, 1060], [null, 1070], [null, 1080], [-0.0, 1090]]}]`},
		{"constantLine spans the range", []string{"constantLine(100)", "constantLine(1.50)"}, 1000, 4600,
			`[{"target": "100", "tags": {"name": "100"}, "datapoints": [[100.0, 1000], [100.0, 4600]]}, ` +
				`{"target": "1.5", "tags": {"name": "1.5"}, "datapoints": [[1.5, 1000], [1.5, 4600]]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, st, RenderRequest{Targets: mustTargets(t, tt.targets...), From: tt.from, Until: tt.until})
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			checkGrafanaShape(t, got)
		})
	}
}

// checkGrafanaShape decodes a render answer the way Grafana's Graphite data
// source reads it: a list of {target, datapoints: [[value|null, ts]]}.
func checkGrafanaShape(t *testing.T, body string) {
	t.Helper()
	var series []struct {
		Target     *string              `json:"target"`
		Tags       map[string]string    `json:"tags"`
		Datapoints [][2]json.RawMessage `json:"datapoints"`
	}
	if err := json.Unmarshal([]byte(body), &series); err != nil {
		t.Fatalf("answer is not Grafana's shape: %v\n%s", err, body)
	}
	for _, s := range series {
		if s.Target == nil || s.Tags["name"] != *s.Target || s.Datapoints == nil {
			t.Fatalf("series without target, tags or datapoints: %s", body)
		}
		for _, dp := range s.Datapoints {
			var v *float64
			var ts int64
			if json.Unmarshal(dp[0], &v) != nil || json.Unmarshal(dp[1], &ts) != nil {
				t.Fatalf("datapoint %s is not [number|null, integer]", dp)
			}
		}
	}
}

func TestRenderCSV(t *testing.T) {
	st := store.NewMemory()
	putAll(t, st, "palm.cpu 23.7 1500000000", "palm.cpu 24 1500000060", `odd,"name 1 1500000000`)
	st.Put([]byte("nan.key"), store.Point{Timestamp: 1500000000, Value: math.NaN()})
	got := render(t, st, RenderRequest{Targets: mustTargets(t, "palm.cpu", "nan.key"), From: 0, Until: 2e9, Format: FormatCSV})
	want := "palm.cpu,2017-07-14 02:40:00,23.7\r\n" +
		"palm.cpu,2017-07-14 02:41:00,24.0\r\n" +
		"nan.key,2017-07-14 02:40:00,nan\r\n"
	if got != want {
		t.Errorf("CSV:\n got %q\nwant %q", got, want)
	}
	// A key with a comma or a quote is quoted, as Python's csv writer does.
	// (The target is written with a glob because a target can't hold a quote.)
	got = render(t, st, RenderRequest{Targets: mustTargets(t, "odd?*"), From: 0, Until: 2e9, Format: FormatCSV})
	if want := "\"odd,\"\"name\",2017-07-14 02:40:00,1.0\r\n"; got != want {
		t.Errorf("CSV of a quoted key = %q, want %q", got, want)
	}
}

func TestRenderMaxDataPoints(t *testing.T) {
	st := store.NewMemory()
	for ts := int64(1); ts <= 100; ts++ {
		st.Put([]byte("s"), store.Point{Timestamp: ts, Value: float64(ts)})
	}
	tests := []struct {
		name        string
		from, until int64
		max         int
		want        string
	}{
		{"fits: raw points", 90, 100, 10, "[[91.0, 91], [92.0, 92], [93.0, 93], [94.0, 94], [95.0, 95], [96.0, 96], [97.0, 97], [98.0, 98], [99.0, 99], [100.0, 100]]"},
		// 11 points in (89, 100] > 10: width (11-1)/9+1 = 2, buckets from 90.
		{"consolidated", 89, 100, 10, "[[90.5, 90], [92.5, 92], [94.5, 94], [96.5, 96], [98.5, 98], [100.0, 100]]"},
		{"one point", 0, 100, 1, "[[50.5, 1]]"},
		{"wide buckets aligned to width", 0, 100, 3, "[[25.0, 1], [74.5, 50], [100.0, 100]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, st, RenderRequest{Targets: mustTargets(t, "s"), From: tt.from, Until: tt.until, MaxDataPoints: tt.max})
			want := `[{"target": "s", "tags": {"name": "s"}, "datapoints": ` + tt.want + `}]`
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestConsolidatorBounds checks, over random ranges and series, that a
// consolidated series never has more than maxDataPoints points, that every
// timestamp stays in the range and increases, and that each average lies
// within the values it averages.
func TestConsolidatorBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		from := r.Int64N(2000) - 1000
		until := from + 1 + r.Int64N(500)
		maxPoints := 1 + r.IntN(20)
		var pts []store.Point
		for ts := from + 1; ts <= until; ts++ {
			if r.IntN(3) == 0 {
				pts = append(pts, store.Point{Timestamp: ts, Value: r.Float64()})
			}
		}
		var out []store.Point
		var c consolidator
		c.init(RenderRequest{From: from, Until: until, MaxDataPoints: maxPoints}, func(ts int64, v float64) {
			out = append(out, store.Point{Timestamp: ts, Value: v})
		})
		for _, p := range pts {
			c.add(p)
		}
		c.finish()
		if len(out) > maxPoints || (len(pts) <= maxPoints && len(out) != len(pts)) {
			t.Fatalf("(%d, %d] max %d: %d points in, %d out", from, until, maxPoints, len(pts), len(out))
		}
		for i, p := range out {
			if p.Timestamp <= from || p.Timestamp > until || (i > 0 && p.Timestamp <= out[i-1].Timestamp) || p.Value < 0 || p.Value >= 1 {
				t.Fatalf("(%d, %d] max %d: bad output %v", from, until, maxPoints, out)
			}
		}
	}
}

func TestBucketAverage(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		values []float64
		want   float64
	}{
		{[]float64{1, 2}, 1.5},
		{[]float64{1, nan, 3}, 2},
		{[]float64{nan, nan}, nan},
		{[]float64{1, inf}, inf},
		{[]float64{-inf, 1}, -inf},
		{[]float64{inf, -inf}, nan},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, math.MaxFloat64},
		{[]float64{-math.MaxFloat64, -math.MaxFloat64, 0}, -math.MaxFloat64 * 2 / 3},
	}
	for _, tt := range tests {
		var c consolidator
		var got float64
		c.init(RenderRequest{From: 0, Until: 100, MaxDataPoints: 1}, func(_ int64, v float64) { got = v })
		c.bucketing = true
		for _, v := range tt.values {
			c.add(store.Point{Timestamp: 1, Value: v})
		}
		c.finish()
		ok := got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want) || math.Abs(got-tt.want) <= math.Abs(tt.want)*1e-15
		if !ok {
			t.Errorf("average of %v = %v, want %v", tt.values, got, tt.want)
		}
	}
}

// TestRenderStopsWhenCancelled checks that a client that went away stops a
// render between series.
func TestRenderStopsWhenCancelled(t *testing.T) {
	st := newTestStore(t, "a.1", "a.2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	err := Render(ctx, &buf, st, RenderRequest{Targets: mustTargets(t, "a.1"), From: 0, Until: 1000})
	if err != context.Canceled {
		t.Errorf("Render = %v, want context.Canceled", err)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"palm.cpu", "pattern palm.cpu"},
		{"  palm.{cpu,mem}  ", "pattern palm.{cpu,mem}"},
		{"constantLine(100)", "constant 100 100"},
		{"constantLine( -2.50 )", "constant -2.5 -2.5"},
		{"constantLine(1e3)", "constant 1000 1000.0"},
		{"constantLine(+007)", "constant 7 7"},
	} {
		tg, err := ParseTarget(tt.in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tt.in, err)
			continue
		}
		got := fmt.Sprintf("constant %v %s", tg.Constant, tg.Name)
		if tg.Pattern != nil {
			got = "pattern " + tg.Pattern.String()
		}
		if got != tt.want {
			t.Errorf("ParseTarget(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{
		"", "  ", "sumSeries(a.*)", "alias(a, 'b')", "constantLine()", "constantLine(abc)", "constantLine(1,2)",
		"constantLine(inf)", "constantLine(1", "a b", "a)", `a"b`, "a.{b", "(x)",
	} {
		if _, err := ParseTarget(in); !IsQueryError(err) {
			t.Errorf("ParseTarget(%q) = %v, want a QueryError", in, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatJSON, "json": FormatJSON, "csv": FormatCSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"png", "raw", "pickle", "JSON"} {
		if _, err := ParseFormat(in); !IsQueryError(err) {
			t.Errorf("ParseFormat(%q) = %v, want a QueryError", in, err)
		}
	}
}

// FuzzParseTarget checks that no target panics the parser and that an
// accepted one renders into valid JSON.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"palm.cpu", "a.{b,c}.*", "constantLine(100)", "sumSeries(a)", "constantLine(-1.5e3)", "x[0-9]?"} {
		f.Add(s)
	}
	st := newTestStore(f, "a.b", "a.c", "x1y")
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if !IsQueryError(err) {
				t.Fatalf("ParseTarget(%q): %v is not a QueryError", s, err)
			}
			return
		}
		out := render(t, st, RenderRequest{Targets: []Target{tg}, From: 0, Until: 1000})
		if !json.Valid([]byte(out)) || !strings.HasPrefix(out, "[") {
			t.Fatalf("render of %q is not JSON: %s", s, out)
		}
	})
}
