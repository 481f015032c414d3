package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"metricsd/internal/events"
)

// TestEventsMatchGraphiteWeb posts the events graphite-web 1.1.8 was given
// (testdata/events/posts.txt) and replays its answers to get_data
// (testdata/events/golden.json, made by regenerate.py): same statuses,
// same events in the same order, ids aside (graphite-web's count from its
// own database).
func TestEventsMatchGraphiteWeb(t *testing.T) {
	raw, err := os.ReadFile("testdata/events/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []tagGolden
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 25 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	a := startAPI(t, Config{})
	for _, g := range rows {
		status, got := a.ask(t, g.Method, g.Path, g.Body)
		if status != g.Status || !reflect.DeepEqual(withoutIDs(got), withoutIDs(g.Answer)) {
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(g.Answer)
			t.Errorf("%s %s %v:\n got %d %s\nwant %d %s", g.Method, g.Path, deref(g.Body), status, gotJSON, g.Status, wantJSON)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestEventsRefusals covers bodies graphite-web answers with a 500 (and a
// Django error page), which metricsd refuses with a 400 and a fixed text,
// and the bounds.
func TestEventsRefusals(t *testing.T) {
	a := startAPI(t, Config{})
	big := `{"what": "` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		body   string
		status int
		err    string
	}{
		{`not json`, 400, errTextEventJSON},
		{`[1]`, 400, errTextEventJSON},
		{`{"tags": ["x"]}`, 400, errTextEventWhat},
		{`{"what": 5}`, 400, errTextEventWhat},
		{`{"what": "w", "tags": [1]}`, 400, errTextEventTags},
		{`{"what": "w", "when": "1400000000"}`, 400, errTextEventWhen},
		{`{"what": "w", "when": 1e20}`, 400, errTextEventWhen},
		{`{"what": "w", "when": null}`, 400, errTextEventWhen},
		{big, 413, ""},
		{`{"what": "w", "data": {"k": 1}, "when": 1}`, 200, ""},
	}
	for _, tt := range tests {
		body := tt.body
		status, got := a.ask(t, "POST", "/events/", &body)
		if status != tt.status {
			t.Errorf("POST %.40s: status %d, want %d", tt.body, status, tt.status)
		}
		if tt.err != "" && !reflect.DeepEqual(got, map[string]any{"error": tt.err}) {
			t.Errorf("POST %.40s: answer %v, want error %q", tt.body, got, tt.err)
		}
	}
	// A value that is not a string is kept as its JSON text.
	_, got := a.ask(t, "GET", "/events/get_data?from=0&until=10", nil)
	want := []any{map[string]any{"when": 1.0, "what": "w", "data": `{"k": 1}`, "tags": []any{}, "id": 1.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("get_data = %v, want %v", got, want)
	}
	if status, _ := a.ask(t, "GET", "/events/get_data?from=yesterdayish", nil); status != 400 {
		t.Errorf("bad from: status %d, want 400", status)
	}
}

// TestEventWithoutWhenIsNow: an event posted without "when" is at the
// time of arrival, and get_data's default range (the epoch to now) has it.
func TestEventWithoutWhenIsNow(t *testing.T) {
	a := startAPI(t, Config{})
	body := `{"what": "now", "tags": "deploy"}`
	if status, _ := a.ask(t, "POST", "/events", &body); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	_, got := a.ask(t, "GET", "/events/get_data?tags=deploy", nil)
	want := []any{map[string]any{"when": float64(testNow.Unix()), "what": "now", "data": "", "tags": []any{"deploy"}, "id": 1.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("get_data = %v, want %v", got, want)
	}
}

// TestEventsBeforeTheFileIsLoaded: while the server recovers its data
// directory the events file is not loaded yet, and both endpoints say so
// with a 503 rather than answer from an empty store.
func TestEventsBeforeTheFileIsLoaded(t *testing.T) {
	evs := events.NewFile(filepath.Join(t.TempDir(), events.FileName), nil)
	a := startAPI(t, Config{Events: evs})
	body := `{"what": "early"}`
	if code, got := a.ask(t, "POST", "/events/", &body); code != 503 || !reflect.DeepEqual(got, map[string]any{"error": errTextEventsNotReady}) {
		t.Errorf("POST before Open = %d %v, want 503", code, got)
	}
	if code, _ := a.ask(t, "GET", "/events/get_data", nil); code != 503 {
		t.Errorf("get_data before Open = %d, want 503", code)
	}
	if err := evs.Open(); err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	if code, _ := a.ask(t, "POST", "/events/", &body); code != 200 {
		t.Errorf("POST after Open = %d, want 200", code)
	}
}

func TestVersion(t *testing.T) {
	a := startAPI(t, Config{})
	resp, err := http.Get(a.url + "/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(b) != "1.1.8" {
		t.Errorf("/version = %d %q, want 200 \"1.1.8\" (graphite-web's answer)", resp.StatusCode, b)
	}
}
