package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestUIRoutes checks the web UI's routes on the real mux: the page at
// "/", its assets under "/ui/", and that "/" catches nothing else.
func TestUIRoutes(t *testing.T) {
	a := startAPI(t, Config{})
	tests := []struct {
		method, path string
		code         int
		ctype        string
	}{
		{http.MethodGet, "/", 200, "text/html; charset=utf-8"},
		{http.MethodGet, "/ui/app.js", 200, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/ui/style.css", 200, "text/css; charset=utf-8"},
		{http.MethodGet, "/nosuchpage", 404, ""},
		{http.MethodGet, "/ui/nosuch.js", 404, ""},
		{http.MethodPost, "/", 405, ""},
	}
	for _, tt := range tests {
		code, ctype, body := a.do(t, tt.method, tt.path, nil)
		if code != tt.code || (tt.ctype != "" && ctype != tt.ctype) {
			t.Errorf("%s %s: %d %s %.80q, want %d %s", tt.method, tt.path, code, ctype, body, tt.code, tt.ctype)
		}
		if tt.path == "/" && code == 200 && !strings.Contains(body, "metricsd") {
			t.Errorf("GET /: not the page: %.200s", body)
		}
	}
}
