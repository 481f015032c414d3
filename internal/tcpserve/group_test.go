package tcpserve

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"metricsd/internal/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait, so that a bug fails instead of hanging.
const testTimeout = 10 * time.Second

// echoSession echoes its connection until EOF or Interrupt. With
// ignoreInterrupt it reads on regardless, like a session stuck on a client,
// so only Close ends it.
type echoSession struct {
	conn            net.Conn
	ignoreInterrupt bool
	interrupts      *atomic.Int32
}

func (s *echoSession) Serve() {
	defer s.conn.Close()
	io.Copy(s.conn, s.conn)
}

func (s *echoSession) Interrupt() {
	s.interrupts.Add(1)
	if !s.ignoreInterrupt {
		s.conn.SetReadDeadline(time.Now())
	}
}

func (s *echoSession) Close() error { return s.conn.Close() }

// harness is a Group serving echo sessions on a loopback port.
type harness struct {
	g          *Group
	addr       string
	open       atomic.Int32 // kept by Started and Ended
	refused    atomic.Int32
	interrupts atomic.Int32
}

// start serves a Group made from cfg (NewSession, Refuse, Started and Ended
// filled in) until the test ends.
func start(t *testing.T, cfg Config, ignoreInterrupt bool) *harness {
	t.Helper()
	h := &harness{}
	cfg.NewSession = func(c net.Conn) Session {
		return &echoSession{conn: c, ignoreInterrupt: ignoreInterrupt, interrupts: &h.interrupts}
	}
	cfg.Refuse = func(c net.Conn) {
		h.refused.Add(1)
		c.Close()
	}
	cfg.Started = func() { h.open.Add(1) }
	cfg.Ended = func() { h.open.Add(-1) }
	h.g = New(cfg)
	h.addr = testnet.Serve(t, h.g, ErrClosed)
	return h
}

func (h *harness) dial(t *testing.T) net.Conn {
	t.Helper()
	return testnet.Dial(t, h.addr)
}

// echo checks that c is served: what it writes comes back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo = %q, %v; want %q", buf, err, msg)
	}
}

func TestServeRunsSessions(t *testing.T) {
	h := start(t, Config{}, false)
	a, b := h.dial(t), h.dial(t)
	echo(t, a, "one")
	echo(t, b, "two")
	if n := h.g.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	a.Close()
	testnet.WaitFor(t, "a's session to end", func() bool { return h.open.Load() == 1 })
	if n := h.g.Len(); n != 1 {
		t.Errorf("Len after a left = %d, want 1 (Ended must follow the release)", n)
	}
	echo(t, b, "still")
}

func TestMaxConns(t *testing.T) {
	h := start(t, Config{MaxConns: 2}, false)
	a, b := h.dial(t), h.dial(t)
	echo(t, a, "a")
	echo(t, b, "b")
	for i := range 3 {
		extra := h.dial(t)
		if n, err := io.Copy(io.Discard, extra); err != nil || n != 0 {
			t.Fatalf("connection %d past the limit read %d bytes, %v; want closed", i, n, err)
		}
	}
	if got := h.refused.Load(); got != 3 {
		t.Errorf("refused = %d, want 3", got)
	}
	// A slot given back (open drops only after that) serves a new client.
	a.Close()
	testnet.WaitFor(t, "a's slot to be released", func() bool { return h.open.Load() == 1 })
	echo(t, h.dial(t), "c")
}

func TestMaxConnsWithoutRefuseCloses(t *testing.T) {
	g := New(Config{
		MaxConns:   1,
		NewSession: func(c net.Conn) Session { return &echoSession{conn: c, interrupts: new(atomic.Int32)} },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testTimeout))
		return c
	}
	first := dial()
	defer first.Close()
	echo(t, first, "x")
	second := dial()
	defer second.Close()
	if n, err := io.Copy(io.Discard, second); err != nil || n != 0 {
		t.Fatalf("second connection read %d bytes, %v; want closed", n, err)
	}
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve = %v, want ErrClosed", err)
	}
}

// TestShutdownInterrupts checks that Shutdown interrupts every session and
// waits for them, and that calling it again, even concurrently, is harmless.
func TestShutdownInterrupts(t *testing.T) {
	h := start(t, Config{}, false)
	conns := []net.Conn{h.dial(t), h.dial(t), h.dial(t)}
	for _, c := range conns {
		echo(t, c, "hi")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = h.g.Shutdown(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Shutdown %d: %v", i, err)
		}
	}
	if got := h.interrupts.Load(); got != 3 {
		t.Errorf("interrupts = %d, want 3 (one per session, once)", got)
	}
	if h.g.Len() != 0 || h.open.Load() != 0 {
		t.Errorf("after Shutdown Len = %d, open = %d; want 0, 0", h.g.Len(), h.open.Load())
	}
	for _, c := range conns {
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("session connection: %v (want closed by the session)", err)
		}
	}
	// The cleanup checks that Serve returned ErrClosed.
}

// TestShutdownExpiredContextForceCloses checks that sessions which ignore
// Interrupt are closed when the context ends, and that Shutdown then
// reports the context's error.
func TestShutdownExpiredContextForceCloses(t *testing.T) {
	h := start(t, Config{}, true)
	a, b := h.dial(t), h.dial(t)
	echo(t, a, "a")
	echo(t, b, "b")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.g.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if h.g.Len() != 0 {
		t.Errorf("Len = %d after a forced Shutdown, want 0", h.g.Len())
	}
	for _, c := range []net.Conn{a, b} {
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("forced connection: %v (want closed)", err)
		}
	}
}

func TestServeAfterShutdown(t *testing.T) {
	g := New(Config{NewSession: func(c net.Conn) Session { return &echoSession{conn: c, interrupts: new(atomic.Int32)} }})
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	ln := &fakeListener{}
	if err := g.Serve(ln); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrClosed", err)
	}
	if !ln.closed.Load() || ln.accepts.Load() != 0 {
		t.Errorf("listener closed = %v after %d accepts; want closed before any", ln.closed.Load(), ln.accepts.Load())
	}
}

// fakeListener returns errs from Accept one by one, then net.ErrClosed.
type fakeListener struct {
	errs    []error
	accepts atomic.Int32
	closed  atomic.Bool
}

func (l *fakeListener) Accept() (net.Conn, error) {
	i := int(l.accepts.Add(1)) - 1
	if i < len(l.errs) {
		return nil, l.errs[i]
	}
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error   { l.closed.Store(true); return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// timeoutError is a temporary accept failure.
type timeoutError struct{}

func (timeoutError) Error() string   { return "accept timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", errno)}
}

// TestServeAcceptErrors checks which accept errors are retried, with what
// pauses, and what Serve returns. Pauses are recorded, not slept.
func TestServeAcceptErrors(t *testing.T) {
	ms := time.Millisecond
	permanent := acceptErr(syscall.EINVAL)
	tests := []struct {
		name   string
		errs   []error
		want   error
		pauses []time.Duration
	}{
		{"closed at once", nil, ErrClosed, nil},
		{"timeouts back off and cap at 1s",
			slices.Repeat([]error{timeoutError{}}, 9), ErrClosed,
			[]time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second}},
		{"out of file descriptors is retried",
			[]error{acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE)}, ErrClosed,
			[]time.Duration{10 * ms, 20 * ms}},
		{"permanent error is returned", []error{permanent}, permanent, nil},
		{"permanent error after retries", []error{timeoutError{}, permanent}, permanent, []time.Duration{10 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(Config{NewSession: func(net.Conn) Session { panic("no connection expected") }})
			var pauses []time.Duration
			g.sleep = func(d time.Duration) bool {
				pauses = append(pauses, d)
				return true
			}
			ln := &fakeListener{errs: tt.errs}
			if err := g.Serve(ln); !errors.Is(err, tt.want) {
				t.Errorf("Serve = %v, want %v", err, tt.want)
			}
			if !slices.Equal(pauses, tt.pauses) {
				t.Errorf("pauses = %v, want %v", pauses, tt.pauses)
			}
			if !ln.closed.Load() {
				t.Error("Serve left its listener open")
			}
		})
	}
}

// TestShutdownEndsBackoff checks that a Serve pausing after an accept error
// returns ErrClosed once Shutdown starts, without finishing the pause.
func TestShutdownEndsBackoff(t *testing.T) {
	g := New(Config{NewSession: func(net.Conn) Session { panic("no connection expected") }})
	paused := make(chan struct{})
	g.sleep = func(d time.Duration) bool {
		close(paused)
		return g.pause(time.Hour) // only Shutdown can end it
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(&fakeListener{errs: []error{timeoutError{}}}) }()
	<-paused
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve = %v, want ErrClosed", err)
	}
}
