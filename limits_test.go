package metricsd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"metricsd/internal/testnet"
	"metricsd/internal/wal"
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
	now := time.Now().Unix()
	at := func(format string, ts int64) string { return fmt.Sprintf(format, ts) }
	for _, req := range []string{at("put k 1 %d", now-98), at("put k 2 %d", now-50), at("put old 1 %d", now-200)} {
		s.ask(req)
	}
	if got := s.ask(at("put k 3 %d", now)); got != "ok\n\n" {
		t.Fatalf("a new point answered %q", got)
	}
	if got := s.ask(at("put k 4 %d", now-150)); !strings.HasPrefix(got, "error\nstore limit reached: timestamp "+strconv.FormatInt(now-150, 10)+" is older than the retention window") {
		t.Fatalf("a put older than the window answered %q", got)
	}
	// The background pass drops what falls out of the window as the clock
	// moves: the point at now-98 within a few seconds.
	want := at("ok\nk 2.0 %d\n", now-50) + at("k 3.0 %d\n\n", now)
	deadline := time.Now().Add(testTimeout)
	for s.ask("get *") != want {
		if time.Now().After(deadline) {
			t.Fatalf("expired points still served: %q, want %q", s.ask("get *"), want)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// TestFutureTimestampsThroughBothPorts is issue #11.1: under --retention a
// far-future put (or a sender of milliseconds) no longer expires the real
// data, and --max-future refuses it on the protocol port with an error and
// on the Graphite port with a counted drop.
func TestFutureTimestampsThroughBothPorts(t *testing.T) {
	for _, maxFuture := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("max-future=%v", maxFuture), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HTTPAddr, cfg.GraphiteAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.Retention = 30 * 24 * time.Hour
			cfg.MaxFuture = maxFuture
			e := startEcoServerWith(t, cfg)
			s := dialSession(t, e.proto)
			now := time.Now().Unix()
			evil := []string{"put evil 1 99999999999", fmt.Sprintf("put millis 1 %d", now*1000)}
			for _, req := range evil {
				got := s.ask(req)
				switch {
				case maxFuture == 0 && got != "ok\n\n":
					t.Fatalf("%q answered %q without --max-future", req, got)
				case maxFuture > 0 && !strings.HasPrefix(got, "error\nstore limit reached: timestamp too far in the future: "):
					t.Fatalf("%q answered %q, want the future refusal", req, got)
				}
			}
			if got := s.ask(fmt.Sprintf("put real 1 %d", now)); got != "ok\n\n" {
				t.Fatalf("a put at the clock after a far-future one answered %q", got)
			}
			e.sendGraphite(t, fmt.Sprintf("g.evil 1 99999999999\ng.millis 1 %d\ng.real 2 %d\n", now*1000, now))
			want := fmt.Sprintf("ok\ng.real 2.0 %d\n\n", now)
			deadline := time.Now().Add(testTimeout)
			for s.ask("get g.real") != want {
				if time.Now().After(deadline) {
					t.Fatalf("Graphite line at the clock not stored: %q", s.ask("get g.real"))
				}
				time.Sleep(5 * time.Millisecond) // poll interval
			}
			wantDropped := 0.0
			if maxFuture > 0 {
				wantDropped = 2
			}
			deadline = time.Now().Add(testTimeout)
			for sample(e.scrape(t), "metricsd_graphite_lines_dropped_total", "reason", "future") != wantDropped {
				if time.Now().After(deadline) {
					t.Fatalf("dropped{future} = %v, want %v", sample(e.scrape(t), "metricsd_graphite_lines_dropped_total", "reason", "future"), wantDropped)
				}
				time.Sleep(5 * time.Millisecond) // poll interval
			}
			if got := s.ask("get real"); got != fmt.Sprintf("ok\nreal 1.0 %d\n\n", now) {
				t.Fatalf("get real = %q", got)
			}
		})
	}
}

func TestMaxKeyLength(t *testing.T) {
	cfg := DefaultConfig()
	s := dialSession(t, serveFor(t, cfg))
	long := strings.Repeat("k", DefaultMaxKeyLength+1)
	if got := s.ask("put " + long + " 1 1"); got != fmt.Sprintf("error\nstore limit reached: key of %d bytes is longer than the limit of %d\n\n", len(long), DefaultMaxKeyLength) {
		t.Fatalf("a key past the default limit answered %q", got)
	}
	if got := s.ask("put " + long[1:] + " 1 1"); got != "ok\n\n" {
		t.Fatalf("a key at the limit answered %q", got)
	}
}

func TestRetentionSurvivesRestart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Fsync = FsyncAlways
	now := time.Now().Unix()
	// First without retention: the log holds old and new points.
	first, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := dialSession(t, testnet.Serve(t, first, nil))
	for _, ts := range []int64{now - 1000, now - 500, now} {
		if got := s.ask(fmt.Sprintf("put k 1 %d", ts)); got != "ok\n\n" {
			t.Fatalf("put answered %q", got)
		}
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Restarted with a window, the expired points are gone before the
	// first request.
	cfg.Retention = 100 * time.Second
	s = dialSession(t, serveFor(t, cfg))
	if got := s.ask("get k"); got != fmt.Sprintf("ok\nk 1.0 %d\n\n", now) {
		t.Fatalf("after a restart with retention, get k = %q", got)
	}
}

// TestReadinessDuringRecovery: NewServer touches nothing; the first Serve
// brings the HTTP API up before it recovers, /readyz answers 503 with the
// recovery's progress while the log replays, then 200 once the storage is
// ready, and only then are puts answered (issue #10.5).
func TestReadinessDuringRecovery(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Fsync = FsyncNever
	first, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := dialSession(t, testnet.Serve(t, first, nil))
	for _, req := range []string{"put a 1 1", "put a 2 2", "put b 3 3"} {
		if got := s.ask(req); got != "ok\n\n" {
			t.Fatalf("%q answered %q", req, got)
		}
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	gate := make(chan struct{})
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.openSegment = func(name string, flag int, perm os.FileMode) (wal.File, error) {
		<-gate // recovery opens the last segment for appending at its end
		return wal.OpenOS(name, flag, perm)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if srv.HTTPAddr() != nil {
		t.Fatal("NewServer bound the HTTP API")
	}
	addr := testnet.Serve(t, srv, nil)
	// Registered after Serve's cleanup, so it runs first: a failing test
	// must not leave recovery blocked and the shutdown waiting on it.
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate) }) })
	testnet.WaitFor(t, "the HTTP API", func() bool { return srv.HTTPAddr() != nil })
	c := &http.Client{Timeout: testTimeout}
	readyz := func() (int, string) {
		resp, err := c.Get("http://" + srv.HTTPAddr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The HTTP API answers before recovery has read the log: wait until
	// it has loaded the 3 points and is held at the last segment.
	var code int
	var body string
	testnet.WaitFor(t, "/readyz to report the 3 points loaded", func() bool {
		code, body = readyz()
		return body == "not ready: durable: not ready: recovering, 3 points loaded\n"
	})
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during recovery = %d %q", code, body)
	}
	release.Do(func() { close(gate) })
	testnet.WaitFor(t, "/readyz to turn 200", func() bool { code, _ := readyz(); return code == http.StatusOK })
	if got := dialSession(t, addr).ask("get *"); got != "ok\na 1.0 1\na 2.0 2\nb 3.0 3\n\n" {
		t.Fatalf("after recovery get * = %q", got)
	}
}
