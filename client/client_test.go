package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testTimeout bounds every call that a test expects to finish.
const testTimeout = 10 * time.Second

// errKind classifies an error the way callers are told to.
type errKind int

const (
	kindNone errKind = iota
	kindServer
	kindProtocol
	kindNetwork
)

// checkKind fails the test unless err is of exactly the class want.
func checkKind(t *testing.T, err error, want errKind, wantMsg string) {
	t.Helper()
	var se *ServerError
	var ne *NetError
	isServer := errors.As(err, &se)
	isProto := errors.Is(err, ErrProtocol)
	isNet := errors.Is(err, ErrNetwork)
	if isNet != errors.As(err, &ne) {
		t.Errorf("errors.Is(ErrNetwork)=%v but errors.As(*NetError)=%v for %v", isNet, !isNet, err)
	}
	got := kindNone
	switch {
	case isServer && !isProto && !isNet:
		got = kindServer
	case isProto && !isServer && !isNet:
		got = kindProtocol
	case isNet && !isServer && !isProto:
		got = kindNetwork
	case err != nil:
		t.Fatalf("error %v matches several classes: server=%v protocol=%v network=%v", err, isServer, isProto, isNet)
	}
	if got != want {
		t.Fatalf("error %v: got class %d, want %d", err, got, want)
	}
	if want == kindServer && se.Msg != wantMsg {
		t.Errorf("ServerError.Msg = %q, want %q", se.Msg, wantMsg)
	}
}

// dial connects to fs and closes the client when the test ends.
func dial(t *testing.T, fs *fakeServer, opts ...Option) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, fs.addr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctxT returns a context bounded by testTimeout.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkFollowUp puts once more and checks which connection carried it:
// the first one if the client kept it, else a new one.
func checkFollowUp(t *testing.T, c *Client, fs *fakeServer, keep bool) {
	t.Helper()
	if err := c.Put(ctxT(t), "next", 1, 1); err != nil {
		t.Fatalf("follow-up put: %v", err)
	}
	recv := fs.received()
	last := recv[len(recv)-1]
	if last.line != "put next 1.0 1\n" {
		t.Fatalf("last request %q, want the follow-up put", last.line)
	}
	wantConn := 2
	if keep {
		wantConn = 1
	}
	if last.conn != wantConn {
		t.Errorf("follow-up put went on connection %d, want %d (keep=%v)", last.conn, wantConn, keep)
	}
}

func TestGetResponses(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		resp       string
		closeAfter bool
		want       []Series
		kind       errKind
		msg        string
	}{
		{name: "empty", key: "k", resp: "ok\n\n", want: []Series{}},
		{name: "one point", key: "k", resp: "ok\nk 1.5 10\n\n",
			want: []Series{{"k", []Point{{10, 1.5}}}}},
		{name: "sorted by timestamp", key: "k", resp: "ok\nk 3.0 3\nk 1.0 1\nk 2.0 2\n\n",
			want: []Series{{"k", []Point{{1, 1}, {2, 2}, {3, 3}}}}},
		{name: "all keys in server order", key: "*",
			resp: "ok\nzz 1.0 5\naa 2.0 1\nzz 3.0 6\nmm -4.0 -7\n\n",
			want: []Series{{"zz", []Point{{5, 1}, {6, 3}}}, {"aa", []Point{{1, 2}}}, {"mm", []Point{{-7, -4}}}}},
		{name: "repr forms", key: "k", resp: "ok\nk inf 1\nk -inf 2\nk 1e+16 3\nk -0.0 4\nk 1e-05 5\n\n",
			want: []Series{{"k", []Point{{1, math.Inf(1)}, {2, math.Inf(-1)}, {3, 1e16}, {4, math.Copysign(0, -1)}, {5, 1e-5}}}}},
		{name: "unicode key", key: "ключ", resp: "ok\nключ 0.25 1\n\n",
			want: []Series{{"ключ", []Point{{1, 0.25}}}}},
		{name: "wrong command", key: "k", resp: "error\nwrong command\n\n", kind: kindServer, msg: "wrong command"},
		{name: "server condition", key: "k", resp: "error\ndisk full\n\n", kind: kindServer, msg: "disk full"},
		{name: "bad status", key: "k", resp: "OK\n\n", kind: kindProtocol},
		{name: "crlf status", key: "k", resp: "ok\r\n\r\n", kind: kindProtocol},
		{name: "error without message", key: "k", resp: "error\n\n", kind: kindProtocol},
		{name: "error with two lines", key: "k", resp: "error\na\nb\n\n", kind: kindProtocol},
		{name: "two fields", key: "k", resp: "ok\nk 1.0\n\n", kind: kindProtocol},
		{name: "four fields", key: "k", resp: "ok\nk 1.0 1 2\n\n", kind: kindProtocol},
		{name: "double space", key: "k", resp: "ok\nk  1.0 1\n\n", kind: kindProtocol},
		{name: "tab in key", key: "*", resp: "ok\nk\tx 1.0 1\n\n", kind: kindProtocol},
		{name: "bad value", key: "k", resp: "ok\nk x 1\n\n", kind: kindProtocol},
		{name: "hex value", key: "k", resp: "ok\nk 0x10 1\n\n", kind: kindProtocol},
		{name: "float timestamp", key: "k", resp: "ok\nk 1.0 1.5\n\n", kind: kindProtocol},
		{name: "timestamp overflow", key: "k", resp: "ok\nk 1.0 9223372036854775808\n\n", kind: kindProtocol},
		{name: "other key", key: "k", resp: "ok\nj 1.0 1\n\n", kind: kindProtocol},
		{name: "closed before answer", key: "k", resp: "", closeAfter: true, kind: kindNetwork},
		{name: "closed after status", key: "k", resp: "ok\n", closeAfter: true, kind: kindNetwork},
		{name: "closed mid line", key: "k", resp: "ok\nk 1.0", closeAfter: true, kind: kindNetwork},
		{name: "closed before end", key: "k", resp: "ok\nk 1.0 1\n", closeAfter: true, kind: kindNetwork},
		{name: "closed mid error", key: "k", resp: "error\nwrong command\n", closeAfter: true, kind: kindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, answer(tt.resp, tt.closeAfter), serveOK)
			c := dial(t, fs)
			got, err := c.GetSeries(ctxT(t), tt.key)
			checkKind(t, err, tt.kind, tt.msg)
			if tt.kind == kindNone && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GetSeries(%q) = %v, want %v", tt.key, got, tt.want)
			}
			if first := fs.received()[0].line; first != "get "+tt.key+"\n" {
				t.Errorf("request %q, want %q", first, "get "+tt.key+"\n")
			}
			checkFollowUp(t, c, fs, tt.kind == kindNone || tt.kind == kindServer)
		})
	}
}

func TestGetMap(t *testing.T) {
	fs := newFakeServer(t, answer("ok\nb 2.0 2\na 1.0 1\nb 0.5 1\n\n", false))
	c := dial(t, fs)
	got, err := c.Get(ctxT(t), "*")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Point{"a": {{1, 1}}, "b": {{1, 0.5}, {2, 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get(*) = %v, want %v", got, want)
	}
}

func TestPutResponses(t *testing.T) {
	tests := []struct {
		name       string
		resp       string
		closeAfter bool
		kind       errKind
		msg        string
	}{
		{name: "ok", resp: "ok\n\n"},
		{name: "wrong command", resp: "error\nwrong command\n\n", kind: kindServer, msg: "wrong command"},
		{name: "storage limit", resp: "error\nstorage limit reached\n\n", kind: kindServer, msg: "storage limit reached"},
		{name: "payload", resp: "ok\nk 1.0 1\n\n", kind: kindProtocol},
		{name: "garbage", resp: "hello\n\n", kind: kindProtocol},
		{name: "closed", resp: "", closeAfter: true, kind: kindNetwork},
		{name: "closed after status", resp: "ok\n", closeAfter: true, kind: kindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, answer(tt.resp, tt.closeAfter), serveOK)
			c := dial(t, fs)
			err := c.Put(ctxT(t), "k", 0.5, 7)
			checkKind(t, err, tt.kind, tt.msg)
			checkFollowUp(t, c, fs, tt.kind == kindNone || tt.kind == kindServer)
		})
	}
}

func TestPutFormatsRequest(t *testing.T) {
	// Variables, so that tenth+fifth is computed in float64
	// (0.30000000000000004), not folded exactly to 0.3 as constants are.
	tenth, fifth := 0.1, 0.2
	tests := []struct {
		key   string
		value float64
		ts    int64
		want  string
	}{
		{"a", 10, 1, "put a 10.0 1\n"},
		{"a", 0.25, -5, "put a 0.25 -5\n"},
		{"a", 1e16, 0, "put a 1e+16 0\n"},
		{"a", 1e-5, 0, "put a 1e-05 0\n"},
		{"a", tenth + fifth, 0, "put a 0.30000000000000004 0\n"},
		{"a", math.Copysign(0, -1), 0, "put a -0.0 0\n"},
		{"a", math.NaN(), 0, "put a nan 0\n"},
		{"a", math.Inf(-1), math.MaxInt64, "put a -inf 9223372036854775807\n"},
		{"*", 1, math.MinInt64, "put * 1.0 -9223372036854775808\n"},
		{"ключ", 2, 3, "put ключ 2.0 3\n"},
	}
	fs := newFakeServer(t, serveOK)
	c := dial(t, fs)
	for i, tt := range tests {
		if err := c.Put(ctxT(t), tt.key, tt.value, tt.ts); err != nil {
			t.Fatalf("Put(%q, %v, %d): %v", tt.key, tt.value, tt.ts, err)
		}
		if got := fs.received()[i].line; got != tt.want {
			t.Errorf("Put(%q, %v, %d) sent %q, want %q", tt.key, tt.value, tt.ts, got, tt.want)
		}
	}
}

func TestInvalidKeyIsNotSent(t *testing.T) {
	fs := newFakeServer(t, serveOK)
	c := dial(t, fs)
	for _, key := range []string{"", " ", "a b", "a\tb", "a\nb", "a\rb", "a\u00a0b", "a\u3000b", "a\x1cb", "\xff", "k\n"} {
		if err := c.Put(ctxT(t), key, 1, 1); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := c.Get(ctxT(t), key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := CheckKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	checkFollowUp(t, c, fs, true)
	if n := len(fs.received()); n != 1 {
		t.Errorf("server read %d requests, want only the follow-up", n)
	}
}

func TestTimeoutDropsConnection(t *testing.T) {
	got := make(chan struct{}, 1)
	fs := newFakeServer(t, stall(got), serveOK)
	c := dial(t, fs)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Put(ctx, "k", 1, 1)
	checkKind(t, err, kindNetwork, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put = %v, want context.DeadlineExceeded", err)
	}
	checkFollowUp(t, c, fs, false)
}

func TestCancelDropsConnection(t *testing.T) {
	got := make(chan struct{}, 1)
	fs := newFakeServer(t, stall(got), serveOK)
	c := dial(t, fs)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-got
		cancel()
	}()
	_, err := c.Get(ctx, "k")
	checkKind(t, err, kindNetwork, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
	checkFollowUp(t, c, fs, false)
}

func TestDoneContextSendsNothing(t *testing.T) {
	fs := newFakeServer(t, serveOK)
	c := dial(t, fs)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Put(ctx, "k", 1, 1); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled only", err)
	}
	checkFollowUp(t, c, fs, true)
}

// TestWaitForTurnAndClose has one call hang on the connection: a second
// call gives up waiting for its turn when its context ends, and Close
// interrupts the first.
func TestWaitForTurnAndClose(t *testing.T) {
	got := make(chan struct{}, 1)
	fs := newFakeServer(t, stall(got))
	c := dial(t, fs)
	first := make(chan error, 1)
	go func() { first <- c.Put(context.Background(), "k", 1, 1) }()
	<-got

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNetwork) {
		t.Errorf("Get while another call holds the connection = %v, want context.DeadlineExceeded only", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-first:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call interrupted by Close = %v, want ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not interrupt the call in progress")
	}
	if err := c.Put(ctxT(t), "k", 1, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if n := len(fs.received()); n != 1 {
		t.Errorf("server read %d requests, want 1", n)
	}
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(ctxT(t), addr)
	var ne *NetError
	if !errors.As(err, &ne) || ne.Op != "dial" || ne.Addr != addr {
		t.Fatalf("Dial(closed port) = %v, want a *NetError for dial %s", err, addr)
	}
}

func TestReconnectFailureThenSuccess(t *testing.T) {
	fs := newFakeServer(t, answer("", true), serveOK)
	c := dial(t, fs)
	checkKind(t, c.Put(ctxT(t), "k", 1, 1), kindNetwork, "")
	checkFollowUp(t, c, fs, false)
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 3*readBufferSize+5)
	t.Run("reassembled", func(t *testing.T) {
		fs := newFakeServer(t, answer("ok\n"+long+" 1.0 1\n"+long+" 2.0 2\n\n", false))
		c := dial(t, fs)
		got, err := c.GetSeries(ctxT(t), long)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Key != long || len(got[0].Points) != 2 {
			t.Errorf("got %d series, want 1 with 2 points under the long key", len(got))
		}
	})
	t.Run("over the limit", func(t *testing.T) {
		for _, n := range []int{16, readBufferSize + 1, 2 * readBufferSize} {
			fs := newFakeServer(t, answer("ok\n"+long+" 1.0 1\n\n", false), serveOK)
			c := dial(t, fs, WithMaxLineLength(n))
			_, err := c.Get(ctxT(t), "*")
			checkKind(t, err, kindProtocol, "")
			checkFollowUp(t, c, fs, false)
		}
	})
}

// TestConcurrentCalls checks that calls from many goroutines are
// serialised: each response reaches the call that sent its request.
func TestConcurrentCalls(t *testing.T) {
	echo := func(fs *fakeServer, id int, nc net.Conn, r *bufio.Reader) {
		for {
			line, ok := fs.readRequest(id, r)
			if !ok {
				return
			}
			key := strings.Fields(line)[1]
			if _, err := io.WriteString(nc, "ok\n"+key+" 1.0 1\n\n"); err != nil {
				return
			}
		}
	}
	fs := newFakeServer(t, echo)
	c := dial(t, fs)
	ctx := ctxT(t)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 50 {
				key := "k" + string(rune('a'+g)) + strings.Repeat("i", i)
				got, err := c.Get(ctx, key)
				if err == nil && len(got[key]) != 1 {
					err = errors.New("response of another call: " + key)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
