package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// testTimeout bounds every wait in these tests, so a bug fails instead of
// hanging the suite.
const testTimeout = testnet.Timeout

type testServer struct {
	srv   *Server
	addr  string
	store *store.Memory
}

func startServer(t *testing.T, maxLine int) *testServer {
	t.Helper()
	return startWith(t, Config{MaxLineLength: maxLine})
}

// startWith serves cfg (with a fresh memory store unless cfg has one) on an
// ephemeral loopback port until the test ends.
func startWith(t *testing.T, cfg Config) *testServer {
	t.Helper()
	st, _ := cfg.Storage.(*store.Memory)
	if cfg.Storage == nil {
		st = store.NewMemory()
		cfg.Storage = st
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testServer{srv: srv, addr: testnet.Serve(t, srv, ErrServerClosed), store: st}
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	return testnet.Dial(t, ts.addr)
}

// readResponses reads exactly n responses (each ends at the first "\n\n").
func readResponses(t *testing.T, r *bufio.Reader, n int) string {
	t.Helper()
	var out strings.Builder
	for range n {
		for {
			line, err := r.ReadString('\n')
			out.WriteString(line)
			if err != nil {
				t.Fatalf("reading response: %v (so far %q)", err, out.String())
			}
			if line == "\n" {
				break
			}
		}
	}
	return out.String()
}

// exchange sends req in one write and reads n responses.
func exchange(t *testing.T, c net.Conn, r *bufio.Reader, req string, n int) string {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readResponses(t, r, n)
}

const errWrong = "error\nwrong command\n\n"

func TestSpecExampleSession(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	r := bufio.NewReader(c)
	steps := []struct{ req, want string }{
		{"put test_key 12.0 1503319740\n", "ok\n\n"},
		{"put test_key 13.0 1503319739\n", "ok\n\n"},
		{"get test_key\n", "ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\n\n"},
		{"put another_key 10 1503319739\n", "ok\n\n"},
		{"get *\n", "ok\ntest_key 13.0 1503319739\ntest_key 12.0 1503319740\nanother_key 10.0 1503319739\n\n"},
		{"got test_key\n", errWrong},
	}
	for _, s := range steps {
		if got := exchange(t, c, r, s.req, 1); got != s.want {
			t.Fatalf("%q answered %q, want %q", s.req, got, s.want)
		}
	}
}

func TestSessionRequests(t *testing.T) {
	tests := []struct {
		name string
		req  string // one or more lines, sent in one write
		n    int    // responses expected
		want string
	}{
		{"empty get", "get nothing\n", 1, "ok\n\n"},
		{"empty get all", "get *\n", 1, "ok\n\n"},
		{"crlf", "put k 1 1\r\nget k\r\n", 2, "ok\n\nok\nk 1.0 1\n\n"},
		{"tabs and spaces", "  put\tk  2.5 \t 3 \nget\tk\n", 2, "ok\n\nok\nk 2.5 3\n\n"},
		{"overwrite", "put k 1 5\nput k 2 5\nget k\n", 3, "ok\n\nok\n\nok\nk 2.0 5\n\n"},
		{"blank line", "\n", 1, errWrong},
		{"whitespace line", " \t\r\n", 1, errWrong},
		{"uppercase command", "PUT k 1 1\n", 1, errWrong},
		{"put too few", "put k 1\n", 1, errWrong},
		{"put too many", "put k 1 1 1\n", 1, errWrong},
		{"get too many", "get a b\n", 1, errWrong},
		{"get none", "get\n", 1, errWrong},
		{"bad value", "put k x 1\n", 1, errWrong},
		{"bad timestamp", "put k 1 1.0\n", 1, errWrong},
		{"invalid utf8 then valid", "put k\xff 1 1\nput k 1 1\n", 2, errWrong + "ok\n\n"},
		{"error does not poison", "bogus\nput k 1 1\nget k\n", 3, errWrong + "ok\n\nok\nk 1.0 1\n\n"},
		{"repr formatting", "put k 1e16 1\nput k 1e-5 2\nput k -0 3\nput k 1e400 4\nput k nan 5\nget k\n", 6,
			"ok\n\nok\n\nok\n\nok\n\nok\n\nok\nk 1e+16 1\nk 1e-05 2\nk -0.0 3\nk inf 4\nk nan 5\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, 64<<10)
			c := ts.dial(t)
			if got := exchange(t, c, bufio.NewReader(c), tt.req, tt.n); got != tt.want {
				t.Fatalf("answered %q, want %q", got, tt.want)
			}
		})
	}
}

func TestByteAtATime(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	r := bufio.NewReader(c)
	req := "put a 1.5 10\nget a\nbad\n"
	for i := range len(req) {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			t.Fatalf("write byte %d: %v", i, err)
		}
	}
	want := "ok\n\nok\na 1.5 10\n\n" + errWrong
	if got := readResponses(t, r, 3); got != want {
		t.Fatalf("answered %q, want %q", got, want)
	}
}

func TestNothingAnsweredBeforeNewline(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	io.WriteString(c, "put a 1 1")
	// A request without its "\n" must not be answered; the next request's
	// answer proves the first was answered only once its line ended.
	io.WriteString(c, "\nget a\n")
	want := "ok\n\nok\na 1.0 1\n\n"
	if got := readResponses(t, bufio.NewReader(c), 2); got != want {
		t.Fatalf("answered %q, want %q", got, want)
	}
}

func TestPipelinedThousand(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	var req, want strings.Builder
	for i := range 1000 {
		if i%3 == 2 {
			fmt.Fprintf(&req, "get k%d\n", i-1)
			fmt.Fprintf(&want, "ok\nk%d %d.0 %d\n\n", i-1, i-1, i-1)
			continue
		}
		fmt.Fprintf(&req, "put k%d %d %d\n", i, i, i)
		want.WriteString("ok\n\n")
	}
	if got := exchange(t, c, bufio.NewReader(c), req.String(), 1000); got != want.String() {
		t.Fatalf("pipelined answers differ; first 200 bytes: %q", got[:200])
	}
}

func TestOverLongLine(t *testing.T) {
	tests := []struct {
		name    string
		maxLine int
		length  int
	}{
		{"default limit, 100 KiB line", 64 << 10, 100 << 10},
		{"limit below read buffer", 10, 11},
		{"limit plus one across buffers", 20 << 10, 20<<10 + 1},
		{"huge line", 64 << 10, 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.maxLine)
			c := ts.dial(t)
			r := bufio.NewReader(c)
			go func() {
				// Written from another goroutine: the server answers the
				// error before the line ends, and the test reads meanwhile.
				io.WriteString(c, "put k 1 1\n"+strings.Repeat("x", tt.length)+"\nget k\n")
			}()
			want := "ok\n\n" + errWrong + "ok\nk 1.0 1\n\n"
			if got := readResponses(t, r, 3); got != want {
				t.Fatalf("answered %q, want %q", got, want)
			}
		})
	}
}

func TestLineAtLimitAccepted(t *testing.T) {
	const limit = 30 << 10 // longer than the read buffer
	ts := startServer(t, limit)
	c := ts.dial(t)
	key := strings.Repeat("k", limit-len("put  1 1"))
	line := "put " + key + " 1 1\n"
	if len(line)-1 != limit {
		t.Fatalf("test line is %d bytes, want %d", len(line)-1, limit)
	}
	r := bufio.NewReader(c)
	go io.WriteString(c, line+"put "+key+"x 1 1\n"+"get "+key+"\n")
	want := "ok\n\n" + errWrong + "ok\n" + key + " 1.0 1\n\n"
	if got := readResponses(t, r, 3); got != want {
		t.Fatalf("answered %q..., want %q...", got[:min(len(got), 80)], want[:80])
	}
}

func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, 64<<10)
	const clients, points = 50, 40
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", ts.addr, testTimeout)
			if err != nil {
				t.Errorf("client %d dial: %v", id, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			r := bufio.NewReader(c)
			key := fmt.Sprintf("client%d.metric", id)
			var want strings.Builder
			want.WriteString("ok\n")
			for i := range points {
				ts := int64(points - i) // out of order on purpose
				fmt.Fprintf(c, "put %s %d.25 %d\n", key, ts, ts)
				if got := readOne(r); got != "ok\n\n" {
					t.Errorf("client %d put answered %q", id, got)
					return
				}
			}
			for ts := 1; ts <= points; ts++ {
				fmt.Fprintf(&want, "%s %d.25 %d\n", key, ts, ts)
			}
			want.WriteString("\n")
			fmt.Fprintf(c, "get %s\n", key)
			if got := readOne(r); got != want.String() {
				t.Errorf("client %d get answered %q, want %q", id, got, want.String())
			}
		}()
	}
	wg.Wait()
}

// readOne reads one response, or returns what it got before an error.
func readOne(r *bufio.Reader) string {
	var out strings.Builder
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if err != nil || line == "\n" {
			return out.String()
		}
	}
}

func TestPartialLineAtEOFDropped(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	r := bufio.NewReader(c)
	io.WriteString(c, "put a 1 1\nput b 2 2")
	if got := readResponses(t, r, 1); got != "ok\n\n" {
		t.Fatalf("answered %q", got)
	}
	c.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after EOF got %q, %v; want a clean close and nothing more", rest, err)
	}
	c2 := ts.dial(t)
	want := "ok\na 1.0 1\n\n"
	if got := exchange(t, c2, bufio.NewReader(c2), "get *\n", 1); got != want {
		t.Fatalf("get * = %q, want %q", got, want)
	}
}

func TestLargeGetAllStreamed(t *testing.T) {
	ts := startServer(t, 64<<10)
	const keys, perKey = 20, 2000
	for k := range keys {
		for i := range perKey {
			ts.store.Put([]byte(fmt.Sprintf("key%02d", k)), store.Point{Timestamp: int64(i), Value: float64(i) / 4})
		}
	}
	c := ts.dial(t)
	got := exchange(t, c, bufio.NewReader(c), "get *\n", 1)
	lines := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n")
	if lines[0] != "ok" || len(lines) != 1+keys*perKey {
		t.Fatalf("get * gave %d lines starting %q", len(lines), lines[0])
	}
	if lines[1] != "key00 0.0 0" || lines[len(lines)-1] != "key19 499.75 1999" {
		t.Fatalf("first/last point lines %q / %q", lines[1], lines[len(lines)-1])
	}
}

func TestShutdownAnswersReadRequestsAndClosesIdle(t *testing.T) {
	st := store.NewMemory()
	srv, err := New(Config{Storage: st, MaxLineLength: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	idle, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(testTimeout))
	r := bufio.NewReader(idle)
	if got := exchange(t, idle, r, "put a 1 1\n", 1); got != "ok\n\n" {
		t.Fatalf("answered %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle session not closed by Shutdown: read gave %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepts after Shutdown")
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownDeadlineClosesBusySession(t *testing.T) {
	srv, _ := New(Config{Storage: endless{store.NewMemory()}, MaxLineLength: 1024})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The client asks for megabytes and never reads: the session blocks in
	// a write, so only the shutdown deadline can end it.
	io.WriteString(c, "get *\n")
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := r.Peek(1); err != nil {
		t.Fatalf("no answer started: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	<-done
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{MaxLineLength: 10}); err == nil {
		t.Error("New accepted a config without storage")
	}
	if _, err := New(Config{Storage: store.NewMemory()}); err == nil {
		t.Error("New accepted a zero line limit")
	}
}

// endless is a storage whose get * answer never ends: it streams points
// until the visitor fails, as a huge store would to a client that never
// reads.
type endless struct{ *store.Memory }

func (e endless) Get(key []byte, fn store.VisitFunc) error { return e.All(fn) }

func (endless) All(fn store.VisitFunc) error {
	batch := make([]store.Point, 512)
	for {
		if err := fn([]byte("endless.key"), batch); err != nil {
			return err
		}
	}
}

// TestGetKeyLongerThanWriteBuffer answers points whose lines don't fit the
// session's write buffer at all, between points that do.
func TestGetKeyLongerThanWriteBuffer(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	r := bufio.NewReader(c)
	long := strings.Repeat("k", writeBufferSize+100)
	puts := "put a 1 1\nput " + long + " 2.5 2\nput " + long + " 3 3\nput z 4 4\n"
	if got := exchange(t, c, r, puts, 4); got != strings.Repeat("ok\n\n", 4) {
		t.Fatalf("puts answered %q", got)
	}
	wantLong := long + " 2.5 2\n" + long + " 3.0 3\n"
	steps := []struct{ req, want string }{
		{"get " + long + "\n", "ok\n" + wantLong + "\n"},
		{"get *\n", "ok\na 1.0 1\n" + wantLong + "z 4.0 4\n\n"},
	}
	for _, st := range steps {
		if got := exchange(t, c, r, st.req, 1); got != st.want {
			t.Errorf("%.20q...: got %d bytes, want %d", st.req, len(got), len(st.want))
		}
	}
}
