package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxCodeBytes is issue #13's budget for the page's own JS and CSS,
// uncompressed.
const maxCodeBytes = 100 << 10

func TestPageCodeUnderBudget(t *testing.T) {
	total := 0
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext == ".js" || ext == ".css" {
			b, err := fs.ReadFile(Assets(), path)
			if err != nil {
				return err
			}
			total += len(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page JS + CSS: %d bytes", total)
	if total > maxCodeBytes || total == 0 {
		t.Errorf("page JS + CSS = %d bytes, want 1..%d", total, maxCodeBytes)
	}
}

// TestServesPage checks what a browser gets: the page at "/", each asset
// with its type and the CSP, and no test files.
func TestServesPage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", Index())
	mux.Handle("GET /ui/", Files("/ui/"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`, 200},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import { Chart", 200},
		{"/ui/chart.js", "text/javascript; charset=utf-8", "export class Chart", 200},
		{"/ui/state.js", "text/javascript; charset=utf-8", "export function encodeState", 200},
		{"/ui/repr.js", "text/javascript; charset=utf-8", "export function pyRepr", 200},
		{"/ui/style.css", "text/css; charset=utf-8", "prefers-color-scheme", 200},
		{"/ui/chart.test.mjs", "", "", 404},
		{"/ui/package.json", "", "", 404},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
			continue
		}
		if tt.code != 200 {
			continue
		}
		h := resp.Header
		if got := h.Get("Content-Type"); got != tt.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if got := h.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tt.path, got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tt.path)
		}
		if !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.contains)
		}
	}
}

// TestNoOtherOrigin checks the page's code names no other origin: no
// http(s):// or protocol-relative URL in the assets, so nothing can be
// loaded from elsewhere even before the CSP refuses it.
func TestNoOtherOrigin(t *testing.T) {
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), path)
		if err != nil {
			return err
		}
		for _, bad := range []string{"http://", "https://", `"//`, "'//", "url(//"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNodeUnitTests runs the JS unit tests (assets/*.test.mjs) with Node's
// built-in runner. Node is required in CI (CI=true); elsewhere a missing
// node skips with a message.
func TestNodeUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed; .ci/run installs Debian's nodejs")
		}
		t.Skip("node is not installed: skipping the JS unit tests")
	}
	tests, err := filepath.Glob("assets/*.test.mjs")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no JS tests found: %v", err)
	}
	cmd := exec.Command(node, append([]string{"--test"}, tests...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test did not report 0 failures:\n%s", out)
	}
	t.Logf("node --test:\n%s", lastLines(string(out), 8))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
