package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"net/url"

	"metricsd/internal/graphiteweb"
	"metricsd/internal/store"
	"metricsd/internal/tags"
)

// The golden parity suite (issue #12.8): graphite-web 1.1.8's answers to
// a few hundred requests over a fixed data set, recorded by
// scripts/graphite-goldens.py, must be metricsd's answers too.
//
// Comparison is semantic: render JSON by series (target, the tags object
// as a map, datapoints: same timestamps, values both null or equal within
// a relative 1e-9, since metricsd writes every value as a float where
// graphite-web may write an int and sums may round differently in the
// last bit); CSV and raw line by line with the same number rule; find and
// expand as decoded JSON.
const goldenDir = "testdata/graphite"

// goldenDifferences are the requests whose graphite-web answer metricsd
// deliberately does not give, each with the reason (docs/graphite.md,
// "Deliberate differences").
var goldenDifferences = map[string]string{
	"nonNegativeDerivative(net.eth0.bytes, 100000)": "graphite-web 1.1.8 fails with a TypeError on a null value when maxValue is given; metricsd treats null as no reading",
}

type golden struct {
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
}

// loadGoldenData reads data.txt into a store, as the Graphite receiver
// would store the lines (NaN lines are stored and skipped by the grid,
// where carbon drops them: the same answer).
func loadGoldenData(t *testing.T, st store.Storage) {
	t.Helper()
	f, err := os.Open(goldenDir + "/data.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		parts := strings.Fields(line)
		v, err1 := strconv.ParseFloat(parts[1], 64)
		ts, err2 := strconv.ParseInt(parts[2], 10, 64)
		if len(parts) != 3 || err1 != nil || err2 != nil {
			t.Fatalf("bad data line %q", line)
		}
		key := parts[0]
		if strings.IndexByte(key, ';') >= 0 {
			// Carbon's normalization, which the Graphite receiver applies.
			if key, err = tags.Normalize(key); err != nil {
				t.Fatalf("bad tagged key in %q: %v", line, err)
			}
		}
		if err := st.Put([]byte(key), store.Point{Timestamp: ts, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestGraphiteWebGoldens(t *testing.T) {
	raw, err := os.ReadFile(goldenDir + "/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var goldens []golden
	if err := json.Unmarshal(raw, &goldens); err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(goldenDir + "/storage-schemas.conf")
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := graphiteweb.ParseSchemas(sf)
	sf.Close()
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory()
	loadGoldenData(t, st)
	a := startAPI(t, Config{Storage: st, GraphiteSchemas: schemas})
	compared := 0
	for _, g := range goldens {
		if g.Status != 200 {
			continue
		}
		if reason, ok := goldenDifferences[goldenTarget(g.Path)]; ok {
			t.Logf("skipped %s: %s", g.Path, reason)
			continue
		}
		code, _, body := a.get(t, g.Path)
		if code != 200 {
			t.Errorf("%s: status %d %q, graphite-web 200", goldenLabel(g.Path), code, body)
			continue
		}
		if msg := compareGolden(g, body); msg != "" {
			t.Errorf("%s: %s", goldenLabel(g.Path), msg)
		}
		compared++
	}
	if compared < 150 {
		t.Errorf("compared %d answers, want at least 150", compared)
	}
}

// goldenTarget is the first target of a render path.
func goldenTarget(path string) string {
	_, q, _ := strings.Cut(path, "?")
	vals, _ := parseQuery(q)
	return vals.Get("target")
}

func goldenLabel(path string) string {
	_, q, _ := strings.Cut(path, "?")
	vals, _ := parseQuery(q)
	if vals.Has("target") {
		return strings.Split(path, "?")[0] + " " + fmt.Sprint(vals)
	}
	return path
}

func compareGolden(g golden, body string) string {
	switch {
	case strings.HasPrefix(g.Path, "/metrics/"):
		var want, got any
		if err := json.Unmarshal([]byte(g.Body), &want); err != nil {
			return "golden: " + err.Error()
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			return "answer is not JSON: " + body
		}
		if !reflect.DeepEqual(normalizeFind(want), normalizeFind(got)) {
			return fmt.Sprintf("\n got %s\nwant %s", body, g.Body)
		}
		return ""
	case g.ContentType == "text/csv" || g.ContentType == "text/plain":
		return compareLines(g.Body, body, g.ContentType == "text/plain")
	}
	return compareRenderJSON(g.Body, body)
}

// normalizeFind drops graphite-web's "_tagged" entry from a find answer:
// it is the directory whisper keeps tagged series in, which metricsd,
// storing them by name, has not (docs/graphite.md). Tagged series are in
// neither tree.
func normalizeFind(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := []any{}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["text"] == "_tagged" {
			continue
		}
		out = append(out, e)
	}
	return out
}

type jsonSeries struct {
	Target     string               `json:"target"`
	Tags       map[string]any       `json:"tags"`
	Datapoints [][2]json.RawMessage `json:"datapoints"`
}

func compareRenderJSON(wantBody, gotBody string) string {
	var want, got []jsonSeries
	if err := json.Unmarshal([]byte(strings.ReplaceAll(wantBody, "1e9999", "null")), &want); err != nil {
		return "golden: " + err.Error()
	}
	if err := json.Unmarshal([]byte(gotBody), &got); err != nil {
		return "answer is not JSON: " + err.Error()
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d series, graphite-web %d:\n got %s\nwant %s", len(got), len(want), short(gotBody), short(wantBody))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Target != g.Target {
			return fmt.Sprintf("series %d target %q, graphite-web %q", i, g.Target, w.Target)
		}
		wt, gt := stringTags(w.Tags), stringTags(g.Tags)
		if !reflect.DeepEqual(wt, gt) {
			return fmt.Sprintf("series %q tags %v, graphite-web %v", w.Target, gt, wt)
		}
		if len(w.Datapoints) != len(g.Datapoints) {
			return fmt.Sprintf("series %q has %d points, graphite-web %d:\n got %s\nwant %s", w.Target, len(g.Datapoints), len(w.Datapoints), short(gotBody), short(wantBody))
		}
		for j := range w.Datapoints {
			if string(w.Datapoints[j][1]) != string(g.Datapoints[j][1]) {
				return fmt.Sprintf("series %q point %d at %s, graphite-web at %s", w.Target, j, g.Datapoints[j][1], w.Datapoints[j][1])
			}
			if !sameValue(string(w.Datapoints[j][0]), string(g.Datapoints[j][0])) {
				return fmt.Sprintf("series %q point %d (ts %s) = %s, graphite-web %s", w.Target, j, w.Datapoints[j][1], g.Datapoints[j][0], w.Datapoints[j][0])
			}
		}
	}
	return ""
}

// stringTags compares tag values as text: graphite-web stores str(value).
func stringTags(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// sameValue compares two values as written: both null (or None, or
// empty), or numbers equal within a relative 1e-9.
func sameValue(a, b string) bool {
	null := func(s string) bool { return s == "null" || s == "None" || s == "" || s == "nan" }
	if null(a) || null(b) {
		return null(a) && null(b)
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return x == y || math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

// compareLines compares CSV (name,time,value) or raw
// (name,start,end,step|v,v,...) answers.
func compareLines(want, got string, raw bool) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		return fmt.Sprintf("%d lines, graphite-web %d:\n got %s\nwant %s", len(gl), len(wl), short(got), short(want))
	}
	for i := range wl {
		w, g := strings.TrimSuffix(wl[i], "\r"), strings.TrimSuffix(gl[i], "\r")
		if w == g {
			continue
		}
		var wf, gf []string
		if raw {
			wh, wv, _ := strings.Cut(w, "|")
			gh, gv, _ := strings.Cut(g, "|")
			if wh != gh {
				return fmt.Sprintf("line %d header %q, graphite-web %q", i, gh, wh)
			}
			wf, gf = strings.Split(wv, ","), strings.Split(gv, ",")
		} else {
			wi, gi := strings.LastIndexByte(w, ','), strings.LastIndexByte(g, ',')
			if wi < 0 || gi < 0 || w[:wi] != g[:gi] {
				return fmt.Sprintf("line %d %q, graphite-web %q", i, g, w)
			}
			wf, gf = []string{w[wi+1:]}, []string{g[gi+1:]}
		}
		if len(wf) != len(gf) {
			return fmt.Sprintf("line %d has %d values, graphite-web %d", i, len(gf), len(wf))
		}
		for j := range wf {
			if !sameValue(wf[j], gf[j]) {
				return fmt.Sprintf("line %d value %d = %s, graphite-web %s", i, j, gf[j], wf[j])
			}
		}
	}
	return ""
}

func short(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

func parseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }

// functionsDifferences are the parameters metricsd's /functions lists
// differently from graphite-web 1.1.8, with the reason.
var functionsDifferences = map[string]string{
	"highest.n":              "graphite-web marks n required but defaults it to 1; metricsd lists the default it applies",
	"lowest.n":               "as highest.n",
	"smartSummarize.alignTo": "metricsd also accepts graphite-web's ignored booleans, so the type is any",
}

// TestFunctionsMatchGraphiteWeb compares /functions' groups and
// parameters (name, type, required, multiple) with graphite-web 1.1.8's
// for every function metricsd evaluates. testdata/graphite/
// functions-params.json was cut from Debian's graphite-web answering
// /functions (GRAPHITE_FUNCTIONS_SHIM=1, /work/shared/graphite-peer), its
// descriptions left out.
func TestFunctionsMatchGraphiteWeb(t *testing.T) {
	raw, err := os.ReadFile(goldenDir + "/functions-params.json")
	if err != nil {
		t.Fatal(err)
	}
	type param struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Required bool   `json:"required"`
		Multiple bool   `json:"multiple"`
	}
	type fn struct {
		Group  string  `json:"group"`
		Params []param `json:"params"`
	}
	var want map[string]fn
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	a := startAPI(t, Config{})
	code, _, body := a.get(t, "/functions")
	var got map[string]fn
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("/functions = %d %.200s", code, body)
	}
	if len(want) < 70 {
		t.Fatalf("only %d functions in the golden", len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("/functions lacks %s", name)
			continue
		}
		if g.Group != w.Group {
			t.Errorf("%s: group %q, graphite-web %q", name, g.Group, w.Group)
		}
		if len(g.Params) != len(w.Params) {
			t.Errorf("%s: %d params, graphite-web %d", name, len(g.Params), len(w.Params))
			continue
		}
		for i := range w.Params {
			if _, ok := functionsDifferences[name+"."+w.Params[i].Name]; ok {
				continue
			}
			if g.Params[i] != w.Params[i] {
				t.Errorf("%s param %d: %+v, graphite-web %+v", name, i, g.Params[i], w.Params[i])
			}
		}
	}
}
