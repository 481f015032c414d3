package metricsd

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGraphiteEventsAreDurable posts an annotation, restarts the server on
// the same data directory and reads it back: events are kept with the data
// (issue #12.4), in the data directory's events file.
func TestGraphiteEventsAreDurable(t *testing.T) {
	dir := t.TempDir()
	start := func() *ecoServer {
		cfg := DefaultConfig()
		cfg.DataDir = dir
		cfg.HTTPAddr, cfg.GraphiteAddr = "127.0.0.1:0", "127.0.0.1:0"
		return startEcoServerWith(t, cfg)
	}
	e := start()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.http+"/events/",
		strings.NewReader(`{"what": "deploy v2", "tags": ["deploy", "web"], "data": "by ci", "when": 1500000000}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /events/ = %d", resp.StatusCode)
	}
	e.stop(t)
	e.served <- nil // the cleanup's stop reads it again

	if fi, err := os.Stat(filepath.Join(dir, "events.jsonl")); err != nil || fi.Size() == 0 {
		t.Fatalf("events file: %v", err)
	}
	e = start()
	code, body := e.httpGet(t, "/events/get_data?from=1499999999&until=1500000001&tags=deploy")
	want := `[{"when":1500000000,"what":"deploy v2","data":"by ci","tags":["deploy","web"],"id":1}]`
	if code != 200 || body != want {
		t.Errorf("get_data after restart = %d %s, want %s", code, body, want)
	}
}
