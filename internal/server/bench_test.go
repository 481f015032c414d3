package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"metricsd/internal/store"
)

// The workload of issue #3: 1,000 keys, one point per key per second.
const (
	benchKeys  = 1000
	benchStart = 1700000000
)

func benchKeyNames() [][]byte {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "host%03d.cpu.user", i)
	}
	return keys
}

// benchServer serves storage until the benchmark ends.
func benchServer(b *testing.B, storage store.Engine, ln net.Listener) {
	b.Helper()
	srv, err := New(Config{Storage: storage, MaxLineLength: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			b.Errorf("Serve: %v", err)
		}
	})
}

// putConn is a client that needs no syscalls: its Read produces n put
// lines (key i%1000, one second apart per key, a two-decimal value) and
// then io.EOF, and its Write checks and counts the answers. The session
// under it parses, stores and answers exactly as for a TCP client.
type putConn struct {
	keys   [][]byte
	values [][]byte // preformatted, so the client's own cost stays small
	n, i   int
	line   []byte
	carry  []byte // the part of a line that did not fit the last Read

	answers int
	bad     bool
	closed  chan struct{}
	once    sync.Once
}

func (c *putConn) Read(p []byte) (int, error) {
	w := copy(p, c.carry)
	c.carry = c.carry[w:]
	for w < len(p) && len(c.carry) == 0 && c.i < c.n {
		key := c.i % benchKeys
		c.line = append(c.line[:0], "put "...)
		c.line = append(c.line, c.keys[key]...)
		c.line = append(c.line, ' ')
		c.line = append(c.line, c.values[c.i%len(c.values)]...)
		c.line = append(c.line, ' ')
		c.line = strconv.AppendInt(c.line, benchStart+int64(c.i/benchKeys), 10)
		c.line = append(c.line, '\n')
		n := copy(p[w:], c.line)
		c.carry = c.line[n:]
		w += n
		c.i++
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

func (c *putConn) Write(p []byte) (int, error) {
	// Answers are whole "ok\n\n"s: flushes happen between requests.
	c.answers += bytes.Count(p, []byte("ok\n\n"))
	if len(p)%4 != 0 {
		c.bad = true
	}
	return len(p), nil
}

func (c *putConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *putConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *putConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *putConn) SetDeadline(time.Time) error      { return nil }
func (c *putConn) SetReadDeadline(time.Time) error  { return nil }
func (c *putConn) SetWriteDeadline(time.Time) error { return nil }

// oneConnListener accepts conn once, then blocks until closed.
type oneConnListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newOneConnListener(conn net.Conn) *oneConnListener {
	l := &oneConnListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	l.conns <- conn
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// BenchmarkSessionPut measures one put through a real session, parse +
// store + answer, on series that exist (1,000 keys, each put one second
// after the key's last): the server's hot path. ns/op includes the fake
// client formatting the line (~20 ns); there are no syscalls. allocs/op
// must be 0 (the session's own buffers are allocated once per connection).
func BenchmarkSessionPut(b *testing.B) {
	keys := benchKeyNames()
	mem := store.NewMemory()
	for _, k := range keys {
		if err := mem.Put(k, store.Point{Timestamp: benchStart - 1, Value: 1}); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	values := make([][]byte, 4096)
	for i := range values {
		values[i] = strconv.AppendFloat(nil, float64(r.IntN(10000))/100, 'f', -1, 64)
	}
	conn := &putConn{keys: keys, values: values, n: b.N, closed: make(chan struct{})}
	b.ReportAllocs()
	b.ResetTimer()
	benchServer(b, mem, newOneConnListener(conn))
	select {
	case <-conn.closed:
	case <-time.After(10 * time.Minute):
		b.Fatal("the session did not finish")
	}
	b.StopTimer()
	if conn.answers != b.N || conn.bad {
		b.Fatalf("%d answers (bad framing: %v) to %d puts", conn.answers, conn.bad, b.N)
	}
}

// BenchmarkGetAllTCP measures `get *` of 1 M points (1,000 keys × 1,000
// seconds of random two-decimal values) over a real loopback TCP
// connection: from sending the request to receiving the answer's last
// byte. The client only scans for the end and counts lines; parsing the
// answer is excluded. B/op shows that the server streams the answer
// (about 30 MB) instead of building it.
func BenchmarkGetAllTCP(b *testing.B) {
	const points = 1000
	keys := benchKeyNames()
	mem := store.NewMemory()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range points {
		for _, k := range keys {
			if err := mem.Put(k, store.Point{Timestamp: benchStart + int64(i), Value: float64(r.IntN(10000)) / 100}); err != nil {
				b.Fatal(err)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	benchServer(b, mem, ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 256<<10)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write([]byte("get *\n")); err != nil {
			b.Fatal(err)
		}
		lines, n, err := readAnswer(conn, buf)
		if err != nil {
			b.Fatal(err)
		}
		if want := 1 + benchKeys*points + 1; lines != want {
			b.Fatalf("answer has %d lines, want %d", lines, want)
		}
		size = n
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/get")
}

// readAnswer reads one answer, up to and including the "\n\n" that ends
// it (a point line is never empty, so the first "\n\n" is the end), and
// returns its number of lines and bytes.
func readAnswer(conn net.Conn, buf []byte) (lines, size int, err error) {
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		return 0, 0, err
	}
	last := byte(0)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return lines, size, fmt.Errorf("after %d bytes: %w", size, err)
		}
		chunk := buf[:n]
		size += n
		lines += bytes.Count(chunk, []byte("\n"))
		if (last == '\n' && chunk[0] == '\n') || bytes.Contains(chunk, []byte("\n\n")) {
			if !bytes.HasSuffix(chunk, []byte("\n\n")) && !(n == 1 && last == '\n') {
				return lines, size, errors.New("bytes after the end of the answer")
			}
			return lines, size, nil
		}
		last = chunk[n-1]
	}
}
