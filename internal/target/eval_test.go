package target

import (
	"context"
	"math"
	"path"
	"slices"
	"strings"
	"testing"
)

// fakeFetcher serves fixed series: each key's values on a 10 s grid
// from 1000, matched by path.Match per node (enough for these tests).
func fakeFetcher(data map[string][]float64) Fetcher {
	return func(_ context.Context, pattern string, from, until int64) (SeriesList, error) {
		var keys []string
		for k := range data {
			if ok, _ := path.Match(strings.ReplaceAll(pattern, ".", "/"), strings.ReplaceAll(k, ".", "/")); ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var out SeriesList
		for _, k := range keys {
			start := from - from%10 + 10
			end := until - until%10 + 10
			vals := make([]float64, (end-start)/10)
			for i := range vals {
				vals[i] = null
				if j := int((start-1000)/10) + i; j >= 0 && j < len(data[k]) {
					vals[i] = data[k][j]
				}
			}
			s := NewSeries(k, start, end, 10, vals)
			s.PathExpression = pattern
			out = append(out, s)
		}
		return out, nil
	}
}

var n = math.NaN()

var testData = map[string][]float64{
	"a.x.cpu": {1, 2, 3, 4},
	"a.y.cpu": {10, n, 30, 40},
	"b.x.mem": {5, 5, n, n},
}

func eval(t *testing.T, target string) (SeriesList, error) {
	t.Helper()
	node, err := Parse(target)
	if err != nil {
		return nil, err
	}
	c := &Context{Ctx: context.Background(), From: 999, Until: 1030, Fetch: fakeFetcher(testData)}
	return Eval(c, node)
}

func fmtValues(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, pyStr(x))
	}
	return strings.Join(parts, " ")
}

func TestEvalFunctions(t *testing.T) {
	f := func(target, wantNames, wantValues string) {
		t.Helper()
		list, err := eval(t, target)
		if err != nil {
			t.Errorf("%s: %v", target, err)
			return
		}
		var names, values []string
		for _, s := range list {
			names = append(names, s.Name)
			values = append(values, fmtValues(s.Points()))
		}
		if got := strings.Join(names, "|"); got != wantNames {
			t.Errorf("%s names = %q, want %q", target, got, wantNames)
		}
		if got := strings.Join(values, "|"); got != wantValues {
			t.Errorf("%s values = %q, want %q", target, got, wantValues)
		}
	}
	f("a.*.cpu", "a.x.cpu|a.y.cpu", "1.0 2.0 3.0 4.0|10.0 None 30.0 40.0")
	f(`aliasSub(a.*.cpu, "(^.*$)", "\1 A")`, "a.x.cpu A|a.y.cpu A", "1.0 2.0 3.0 4.0|10.0 None 30.0 40.0")
	f(`aliasSub(a.*.cpu, "a\.(.)\.cpu", "host $ \1")`, "host $ x|host $ y", "1.0 2.0 3.0 4.0|10.0 None 30.0 40.0")
	f("sumSeries(a.*.cpu)", "sumSeries(a.*.cpu)", "11.0 2.0 33.0 44.0")
	// A null minuend: graphite-web's safeDiff starts from the first value.
	f("diffSeries(a.y.cpu, a.x.cpu)", "diffSeries(a.y.cpu,a.x.cpu)", "9.0 2.0 27.0 36.0")
	f("averageSeries(a.*.cpu)", "averageSeries(a.*.cpu)", "5.5 2.0 16.5 22.0")
	f("aliasByNode(a.*.cpu, 1)", "x|y", "1.0 2.0 3.0 4.0|10.0 None 30.0 40.0")
	f("aliasByNode(sumSeries(a.*.cpu), 0, -1)", "a.cpu", "11.0 2.0 33.0 44.0")
	f("aliasByMetric(scale(a.x.cpu, 2))", "cpu", "2.0 4.0 6.0 8.0")
	f("scale(a.x.cpu, 0.5)", "scale(a.x.cpu,0.5)", "0.5 1.0 1.5 2.0")
	f("transformNull(b.x.mem, -1)", "transformNull(b.x.mem,-1)", "5.0 5.0 -1.0 -1.0")
	f("keepLastValue(a.y.cpu)", "keepLastValue(a.y.cpu)", "10.0 10.0 30.0 40.0")
	f("asPercent(a.*.cpu)", "asPercent(a.x.cpu,sumSeries(a.*.cpu))|asPercent(a.y.cpu,sumSeries(a.*.cpu))",
		"9.090909090909092 100.0 9.090909090909092 9.090909090909092|90.9090909090909 None 90.9090909090909 90.9090909090909")
	f("divideSeries(a.y.cpu, a.x.cpu)", "divideSeries(a.y.cpu,a.x.cpu)", "10.0 None 10.0 10.0")
	f("sortByMaxima(a.*.cpu)", "a.y.cpu|a.x.cpu", "10.0 None 30.0 40.0|1.0 2.0 3.0 4.0")
	f("exclude(a.*.cpu, 'y')", "a.x.cpu", "1.0 2.0 3.0 4.0")
	f("groupByNode(*.x.*, 1, 'sum')", "x", "6.0 7.0 3.0 4.0")
	f("a.x.cpu | scale(3) | alias('three')", "three", "3.0 6.0 9.0 12.0")
	f("constantLine(7)", "7.0", "7.0 7.0 7.0")
	// Buckets aligned to 20 s, to the one after the end.
	f("summarize(a.x.cpu, '20s')", `summarize(a.x.cpu, "20s", "sum")`, "3.0 7.0 None")
	f("derivative(a.x.cpu)", "derivative(a.x.cpu)", "None 1.0 1.0 1.0")
	f("color(lineWidth(a.x.cpu, 2), 'red')", "a.x.cpu", "1.0 2.0 3.0 4.0")
}

func TestEvalTags(t *testing.T) {
	list, err := eval(t, "scale(sumSeries(a.*.cpu), 2)")
	if err != nil {
		t.Fatal(err)
	}
	want := Tags{{"name", "sumSeries(a.*.cpu)"}, {"aggregatedBy", "sum"}, {"scale", "2.0"}}
	if got := list[0].Tags; !slices.Equal(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	list, err = eval(t, "movingAverage(a.x.cpu, 2)")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := list[0].Tags.Get("movingAverage"); v != "2" || list[0].Name != "movingAverage(a.x.cpu,2)" {
		t.Errorf("movingAverage: %s %v", list[0].Name, list[0].Tags)
	}
}

// TestEvalErrors: an unknown function is named; a bad argument names the
// function and the argument.
func TestEvalErrors(t *testing.T) {
	for target, want := range map[string]string{
		"nope(a.x.cpu)":                      `unknown function "nope"`,
		"movingAverage(a.x.cpu)":             "movingAverage: argument windowSize: missing",
		"scale(a.x.cpu, 'two')":              "scale: argument factor: want a number, got string",
		"summarize(a.x.cpu, '5q')":           "summarize: argument intervalString: invalid interval",
		"sortBy(a.x.cpu, 'bogus')":           `sortBy: argument func: unsupported aggregation function "bogus"`,
		"aliasSub(a.x.cpu, '(', 'x')":        "aliasSub: argument search: invalid regular expression",
		"aliasSub(a.x.cpu, '(a)', '\\2')":    "aliasSub: argument replace: invalid group reference 2",
		"divideSeries(a.x.cpu, a.*.cpu)":     "divideSeries: argument divisorSeries: must reference exactly 1 series (got 2)",
		"alias(a.x.cpu, 'x', 'y')":           "alias: too many arguments",
		"scale(a.x.cpu, factor=2, factor=3)": "scale: argument factor: given twice",
		"scale(5, 2)":                        "scale: argument seriesList: want a series list, got number",
		"consolidateBy(a.x.cpu, 'median')":   `consolidateBy: argument consolidationFunc: invalid option "median"`,
	} {
		_, err := eval(t, target)
		if err == nil || !IsError(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want an *Error containing %q", target, err, want)
		}
	}
}

func TestPythonReplacement(t *testing.T) {
	for in, want := range map[string]string{
		`\1 A`: "${1} A", `\g<1>x`: "${1}x", `$5`: "$$5", `a\nb`: "a\nb", `\\`: `\`, `\.`: `\.`,
	} {
		if got, err := pythonReplacement(in, 1); err != nil || got != want {
			t.Errorf("pythonReplacement(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
