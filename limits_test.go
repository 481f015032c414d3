package metricsd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// serveFor runs a server with cfg on 127.0.0.1:0 until the test ends and
// returns its address.
func serveFor(t *testing.T, cfg Config) string {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return testnet.Serve(t, srv, nil)
}

// session sends lines one at a time and returns each answer.
type session struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialSession(t *testing.T, addr string) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return &session{t: t, c: c, r: bufio.NewReader(c)}
}

func (s *session) ask(line string) string {
	s.t.Helper()
	if _, err := io.WriteString(s.c, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
	var out strings.Builder
	for {
		l, err := s.r.ReadString('\n')
		out.WriteString(l)
		if err != nil {
			s.t.Fatalf("reading the answer to %q: %v (so far %q)", line, err, out.String())
		}
		if l == "\n" {
			return out.String()
		}
	}
}

func TestLimitsOverTheProtocol(t *testing.T) {
	for _, dataDir := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", dataDir), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxSeries, cfg.MaxPoints = 2, 3
			if dataDir {
				cfg.DataDir = t.TempDir()
			}
			s := dialSession(t, serveFor(t, cfg))
			steps := []struct{ req, want string }{
				{"put a 1 1", "ok\n\n"},
				{"put b 1 1", "ok\n\n"},
				{"put c 1 1", "error\nstore limit reached: series limit of 2 reached\n\n"},
				{"put a 2 2", "ok\n\n"},
				{"put a 3 3", "error\nstore limit reached: point limit of 3 reached\n\n"},
				{"put a 9 1", "ok\n\n"},
				{"get *", "ok\na 9.0 1\na 2.0 2\nb 1.0 1\n\n"},
			}
			for _, st := range steps {
				if got := s.ask(st.req); got != st.want {
					t.Fatalf("%q answered %q, want %q", st.req, got, st.want)
				}
			}
		})
	}
}

func TestRetentionOverTheProtocol(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retention = 100 * time.Second
	s := dialSession(t, serveFor(t, cfg))
	for _, req := range []string{"put k 1 1000", "put k 2 1050", "put old 1 0"} {
		s.ask(req)
	}
	if got := s.ask("put k 3 2000"); got != "ok\n\n" {
		t.Fatalf("a new point answered %q", got)
	}
	if got := s.ask("put k 4 1899"); !strings.HasPrefix(got, "error\nstore limit reached: timestamp 1899 is older than the retention window") {
		t.Fatalf("a put older than the window answered %q", got)
	}
	// The background pass drops what fell out of the window.
	deadline := time.Now().Add(testTimeout)
	for s.ask("get *") != "ok\nk 3.0 2000\n\n" {
		if time.Now().After(deadline) {
			t.Fatalf("expired points still served: %q", s.ask("get *"))
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func TestRetentionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Fsync = "always"
	// First without retention: the log holds old and new points.
	func() {
		srv, err := NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		for _, ts := range []int64{10, 20, 500} {
			if err := srv.store.Put([]byte("k"), pointAt(ts)); err != nil {
				t.Fatal(err)
			}
		}
	}()
	// Restarted with a window, the expired points are gone before the
	// first request.
	cfg.Retention = 100 * time.Second
	s := dialSession(t, serveFor(t, cfg))
	if got := s.ask("get k"); got != "ok\nk 1.0 500\n\n" {
		t.Fatalf("after a restart with retention, get k = %q", got)
	}
}

func pointAt(ts int64) store.Point { return store.Point{Timestamp: ts, Value: 1} }

func TestHTTPUpBeforeServeWithDataDir(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if srv.HTTPAddr() == nil {
		t.Fatal("the HTTP API is not up after recovery and before Serve")
	}
	c := &http.Client{Timeout: testTimeout}
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK} {
		resp, err := c.Get("http://" + srv.HTTPAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}
