package httpapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestFindLimit checks the key browser's cap: limit=N answers the first N
// nodes by path, a bad limit is a 400, and no limit keeps graphite-web's
// whole answer.
func TestFindLimit(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 50 {
		a.put(t, fmt.Sprintf("host%02d.cpu", 49-i), 1, 1500000000)
	}
	tests := []struct {
		query string
		code  int
		ids   int    // nodes answered
		first string // first id
	}{
		{"/metrics/find?query=host*&limit=10", 200, 10, "host00"},
		{"/metrics/find?query=host*&limit=1000", 200, 50, "host00"},
		{"/metrics/find?query=host*", 200, 50, "host00"},
		{"/metrics/find?query=host4*&limit=3", 200, 3, "host40"},
		{"/metrics/find?query=host*&limit=-1", 400, 0, ""},
		{"/metrics/find?query=host*&limit=x", 400, 0, ""},
	}
	for _, tt := range tests {
		code, _, body := a.get(t, tt.query)
		if code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.query, code, body, tt.code)
			continue
		}
		if code != 200 {
			continue
		}
		var got []grafanaFindResult
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: %v: %s", tt.query, err, body)
		}
		if len(got) != tt.ids || got[0].ID != tt.first {
			t.Errorf("%s: %d nodes from %q, want %d from %q", tt.query, len(got), got[0].ID, tt.ids, tt.first)
		}
	}
}
