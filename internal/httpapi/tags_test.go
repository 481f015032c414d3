package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"metricsd/internal/tags"
)

// tagGolden is one row of testdata/tags/golden.json: a request and
// graphite-web 1.1.8's answer over the series of testdata/tags/series.txt
// (regenerate with testdata/tags/regenerate.py).
type tagGolden struct {
	Method string  `json:"method"`
	Path   string  `json:"path"`
	Body   *string `json:"body"`
	Status int     `json:"status"`
	Answer any     `json:"answer"`
}

// putTagSeries stores one point of every series of testdata/tags/series.txt
// under the key the Graphite receiver would store (the normalized name).
func putTagSeries(t *testing.T, a *testAPI) {
	t.Helper()
	raw, err := os.ReadFile("testdata/tags/series.txt")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range strings.Fields(string(raw)) {
		key, err := tags.Normalize(name)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", name, err)
		}
		a.put(t, key, float64(i+1), 1500000000)
	}
}

// withoutIDs drops graphite-web's database ids from a decoded answer:
// metricsd has no tag database and sends none.
func withoutIDs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "id")
		for k, e := range v {
			v[k] = withoutIDs(e)
		}
	case []any:
		for i, e := range v {
			v[i] = withoutIDs(e)
		}
	}
	return v
}

func (a *testAPI) ask(t *testing.T, method, path string, body *string) (int, any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(*body)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if resp.StatusCode == http.StatusMethodNotAllowed {
		return resp.StatusCode, string(raw) // the mux's text, as graphite-web's empty 405
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return resp.StatusCode, v
}

// TestTagEndpointsMatchGraphiteWeb replays graphite-web's recorded answers:
// same status, same JSON (ids aside), error texts included.
func TestTagEndpointsMatchGraphiteWeb(t *testing.T) {
	raw, err := os.ReadFile("testdata/tags/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []tagGolden
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	a := startAPI(t, Config{})
	putTagSeries(t, a)
	for _, g := range rows {
		status, got := a.ask(t, g.Method, g.Path, g.Body)
		if status != g.Status || !reflect.DeepEqual(got, withoutIDs(g.Answer)) {
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(g.Answer)
			t.Errorf("%s %s %v:\n got %d %s\nwant %d %s", g.Method, g.Path, g.Body, status, gotJSON, g.Status, wantJSON)
		}
	}
}

// TestTagEndpointsRefusals covers what graphite-web answers with a 500 or
// oddly, and metricsd refuses with a 400 and a fixed text.
func TestTagEndpointsRefusals(t *testing.T) {
	a := startAPI(t, Config{})
	putTagSeries(t, a)
	tests := []struct {
		method, path string
		status       int
		err          string
	}{
		{"GET", "/tags?filter=(", 400, errTextRegexp},
		{"GET", "/tags/host?filter=(", 400, errTextRegexp},
		{"GET", "/tags/findSeries?expr=host=~(", 400, errTextRegexp},
		{"GET", "/tags?limit=x", 400, errTextLimit},
		{"GET", "/tags/autoComplete/tags?limit=-1", 400, errTextLimit},
		{"GET", "/tags/autoComplete/values?tag=host&limit=1.5", 400, errTextLimit},
		{"GET", "/tags/autoComplete/values?tag=a%3Bb&expr=name=x", 400, "Invalid tagspec a;b!="},
		{"POST", "/tags", 405, ""},
		{"POST", "/tags/host", 405, ""},
	}
	for _, tt := range tests {
		status, got := a.ask(t, tt.method, tt.path, nil)
		if status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, status, tt.status)
		}
		if tt.err != "" && !reflect.DeepEqual(got, map[string]any{"error": tt.err}) {
			t.Errorf("%s %s: answer %v, want error %q", tt.method, tt.path, got, tt.err)
		}
	}
}
