package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"metricsd/internal/store"
	"metricsd/internal/testcerts"
	"metricsd/internal/testnet"
)

// closedBy returns how many sessions ended for reason.
func closedBy(m *Metrics, reason string) float64 {
	return testutil.ToFloat64(m.connsClosed.WithLabelValues(reason))
}

// expectClosed reads from c until the server closes it, within testTimeout.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("server did not close the connection")
	}
}

func TestHugeLineWithoutNewlineKeepsMemoryBounded(t *testing.T) {
	ts := startServer(t, 64<<10)
	c := ts.dial(t)
	r := bufio.NewReader(c)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	chunk := []byte(strings.Repeat("x", 64<<10))
	var peak atomic.Uint64
	sent := make(chan error, 1)
	go func() {
		var ms runtime.MemStats
		for i := range (100 << 20) / len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				sent <- err
				return
			}
			if i%64 == 0 {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
		_, err := io.WriteString(c, "\nput k 1 1\n")
		sent <- err
	}()
	if got := readResponses(t, r, 2); got != errWrong+"ok\n\n" {
		t.Fatalf("answered %q, want one error then ok", got)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending: %v", err)
	}
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB while a 100 MiB line streamed in", grew>>20)
	}
}

func TestNonReadingClientDroppedAfterWriteTimeout(t *testing.T) {
	st := store.NewMemory()
	for i := range 1_000_000 {
		st.Put(fmt.Appendf(nil, "key%d", i%1000), store.Point{Timestamp: int64(i), Value: 42.25})
	}
	m := NewMetrics(nil)
	ts := startWith(t, Config{Storage: st, MaxLineLength: 1024, WriteTimeout: 300 * time.Millisecond, Metrics: m})
	hog := ts.dial(t)
	io.WriteString(hog, "get *\n") // and never read

	// Another client is served while the hog's session is stuck writing.
	other := ts.dial(t)
	r := bufio.NewReader(other)
	for i := range 20 {
		want := fmt.Sprintf("ok\n\nok\nfresh %d.0 7\n\n", i)
		if got := exchange(t, other, r, fmt.Sprintf("put fresh %d 7\nget fresh\n", i), 2); got != want {
			t.Fatalf("other client got %q", got)
		}
	}
	testnet.WaitFor(t, "the hog to be dropped", func() bool { return closedBy(m, closeWriteTimeout) == 1 })
	expectClosed(t, hog)
}

// TestWriteDeadlineRenewed keeps a client that reads every answer busy
// for several write timeouts: the deadline, renewed only now and then,
// must never catch it.
func TestWriteDeadlineRenewed(t *testing.T) {
	const timeout = 100 * time.Millisecond
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 1024, WriteTimeout: timeout, Metrics: m})
	c := ts.dial(t)
	r := bufio.NewReader(c)
	tick := time.NewTicker(timeout / 5)
	defer tick.Stop()
	for i := range 20 { // 4 × timeout, past the 1.5 × of one deadline
		<-tick.C
		if got := exchange(t, c, r, fmt.Sprintf("put k %d 1\n", i), 1); got != "ok\n\n" {
			t.Fatalf("put %d answered %q", i, got)
		}
	}
	if n := closedBy(m, closeWriteTimeout); n != 0 {
		t.Fatalf("%v sessions dropped for the write timeout", n)
	}
}

func TestSlowlorisDropped(t *testing.T) {
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 1024, ReadTimeout: 500 * time.Millisecond, Metrics: m})
	const conns = 1000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range conns {
		c := ts.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond) // one byte per tick, never a line
			defer tick.Stop()
			for range 50 {
				if _, err := c.Write([]byte("p")); err != nil {
					return // dropped, as it should be
				}
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}()
	}
	// A well-behaved client is answered while the slow ones trickle.
	c := ts.dial(t)
	if got := exchange(t, c, bufio.NewReader(c), "put ok 1 1\n", 1); got != "ok\n\n" {
		t.Fatalf("answered %q", got)
	}
	testnet.WaitFor(t, "every slow connection to be dropped", func() bool { return closedBy(m, closeReadTimeout) == conns })
	close(stop)
	wg.Wait()
}

func TestIdleTimeout(t *testing.T) {
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 1024, IdleTimeout: 200 * time.Millisecond, Metrics: m})
	idle := ts.dial(t)
	expectClosed(t, idle)
	if got := closedBy(m, closeIdleTimeout); got != 1 {
		t.Fatalf("closed for idle timeout: %v, want 1", got)
	}
}

func TestIdleTimeoutZeroKeepsQuietSessions(t *testing.T) {
	ts := startWith(t, Config{MaxLineLength: 1024, ReadTimeout: 100 * time.Millisecond})
	c := ts.dial(t)
	r := bufio.NewReader(c)
	exchange(t, c, r, "put a 1 1\n", 1)
	// Quiet for several read timeouts between lines: the read timeout only
	// bounds a started line, so the session must survive.
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	if _, err := r.ReadByte(); !isTimeout(err) {
		t.Fatalf("quiet session: read gave %v, want our own timeout", err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	if got := exchange(t, c, r, "get a\n", 1); got != "ok\na 1.0 1\n\n" {
		t.Fatalf("after a quiet spell answered %q", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestMaxConns(t *testing.T) {
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 1024, MaxConns: 10, Metrics: m})
	var conns []net.Conn
	for i := range 10 {
		c := ts.dial(t)
		if got := exchange(t, c, bufio.NewReader(c), fmt.Sprintf("put k %d %d\n", i, i), 1); got != "ok\n\n" {
			t.Fatalf("connection %d answered %q", i, got)
		}
		conns = append(conns, c)
	}
	for range 5 {
		extra := ts.dial(t)
		got, err := io.ReadAll(extra)
		if err != nil || string(got) != "error\ntoo many connections\n\n" {
			t.Fatalf("connection past the limit got %q, %v", got, err)
		}
	}
	if got := testutil.ToFloat64(m.connsRefused); got != 5 {
		t.Fatalf("refused counter = %v, want 5", got)
	}
	// Existing sessions are unaffected.
	if got := exchange(t, conns[0], bufio.NewReader(conns[0]), "get k\n", 1); !strings.HasPrefix(got, "ok\nk 0.0 0\n") {
		t.Fatalf("existing session answered %q", got)
	}
	// Once one leaves, a new connection is served.
	conns[9].Close()
	testnet.WaitFor(t, "the closed session to be released", func() bool { return testutil.ToFloat64(m.connsOpen) == 9 })
	c := ts.dial(t)
	if got := exchange(t, c, bufio.NewReader(c), "get nothing\n", 1); got != "ok\n\n" {
		t.Fatalf("new connection after a slot freed answered %q", got)
	}
}

func TestManyClientsNoErrorsNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, 1024)
	const clients, rounds = 500, 10
	var wg sync.WaitGroup
	var failures atomic.Int64
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := putAndReadBack(ts.addr, id, rounds); err != nil {
				failures.Add(1)
				t.Errorf("client %d: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.FailNow()
	}
	total := 0
	ts.store.All(func(_ []byte, pts []store.Point) error { total += len(pts); return nil })
	if total != clients*rounds {
		t.Fatalf("store holds %d points, want %d", total, clients*rounds)
	}
	testnet.WaitFor(t, "session goroutines to end", func() bool { return runtime.NumGoroutine() <= before+5 })
}

// putAndReadBack puts rounds points under a key of its own, reading each
// back at once; any answer that is not exact is an error.
func putAndReadBack(addr string, id, rounds int) error {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	// Generous: 500 clients under the race detector on two busy cores.
	c.SetDeadline(time.Now().Add(6 * testTimeout))
	r := bufio.NewReader(c)
	key := fmt.Sprintf("load.%d", id)
	var want strings.Builder
	want.WriteString("ok\n")
	for i := range rounds {
		fmt.Fprintf(c, "put %s %d.5 %d\n", key, i, i)
		if got := readOne(r); got != "ok\n\n" {
			return fmt.Errorf("put %d answered %q", i, got)
		}
		fmt.Fprintf(&want, "%s %d.5 %d\n", key, i, i)
		fmt.Fprintf(c, "get %s\n", key)
		if got := readOne(r); got != want.String()+"\n" {
			return fmt.Errorf("get after put %d answered %q", i, got)
		}
	}
	return nil
}

func TestAbruptDisconnects(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, 1024)
	for i := range 2000 {
		ts.store.Put([]byte("big"), store.Point{Timestamp: int64(i), Value: 1})
	}
	// Reset mid-request.
	c := ts.dial(t)
	io.WriteString(c, "put half 1")
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Closed mid-response.
	c = ts.dial(t)
	io.WriteString(c, "get big\nget big\nget big\n")
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Half-closed: the requests sent before the close are all answered.
	c = ts.dial(t)
	io.WriteString(c, "put hc 1 1\nget hc\n")
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "ok\n\nok\nhc 1.0 1\n\n" {
		t.Fatalf("half-closed session got %q, %v", got, err)
	}
	// The server goes on serving, and the broken sessions are gone.
	c = ts.dial(t)
	if got := exchange(t, c, bufio.NewReader(c), "get half\n", 1); got != "ok\n\n" {
		t.Fatalf("after abrupt disconnects answered %q", got)
	}
	c.Close()
	testnet.WaitFor(t, "sessions to end", func() bool { return runtime.NumGoroutine() <= before+5 })
}

func TestTLS(t *testing.T) {
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	serverTLS := &tls.Config{
		Certificates: []tls.Certificate{certs.Server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    certs.CAPool,
		MinVersion:   tls.VersionTLS12,
	}
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 1024, TLS: serverTLS, Metrics: m})
	dialTLS := func(cert *tls.Certificate) (*tls.Conn, error) {
		cfg := &tls.Config{RootCAs: certs.CAPool, ServerName: "127.0.0.1"}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		d := &net.Dialer{Timeout: testTimeout}
		c, err := tls.DialWithDialer(d, "tcp", ts.addr, cfg)
		if err == nil {
			c.SetDeadline(time.Now().Add(testTimeout))
		}
		return c, err
	}

	t.Run("client certificate accepted", func(t *testing.T) {
		c, err := dialTLS(&certs.Client)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		if got := exchange(t, c, bufio.NewReader(c), "put s 1 1\nget s\n", 2); got != "ok\n\nok\ns 1.0 1\n\n" {
			t.Fatalf("answered %q", got)
		}
	})
	t.Run("no client certificate refused", func(t *testing.T) {
		c, err := dialTLS(nil)
		if err == nil {
			// TLS 1.3 reports the refusal on the first read.
			defer c.Close()
			io.WriteString(c, "get s\n")
			if _, err = c.Read(make([]byte, 1)); err == nil {
				t.Fatal("a client without a certificate was served")
			}
		}
	})
	t.Run("plain TCP gets a clean close", func(t *testing.T) {
		c := ts.dial(t)
		io.WriteString(c, "put p 1 1\n")
		expectClosed(t, c)
	})
	testnet.WaitFor(t, "failed handshakes to be counted", func() bool { return closedBy(m, closeTLS) >= 2 })
}

// heldStore is a pipelining storage whose Waits block until released, as
// a cluster waiting for its acknowledgements does.
type heldStore struct {
	*store.Memory
	waiting atomic.Int32
	release chan struct{}
}

func (h *heldStore) Submit(key []byte, p store.Point) (store.Ticket, error) {
	return store.NewTicket(h, 0), h.Memory.Put(key, p)
}

// Wait implements store.Waiter.
func (h *heldStore) Wait(int) error {
	h.waiting.Add(1)
	<-h.release
	return nil
}

// TestReadTimeoutExcludesTheServersWait: a read that ends inside a line
// starts its read timeout, but the time the session then spends waiting
// for the complete lines' puts to be stored is the server's, not the
// client's: the session must not be dropped for it.
func TestReadTimeoutExcludesTheServersWait(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	held := &heldStore{Memory: store.NewMemory(), release: make(chan struct{})}
	ts := startWith(t, Config{Storage: held, MaxLineLength: 1024, ReadTimeout: readTimeout})
	c := ts.dial(t)
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "put a 1 1\nput b 1 "); err != nil { // one write: the second line unfinished
		t.Fatal(err)
	}
	testnet.WaitFor(t, "the first put to wait", func() bool { return held.waiting.Load() == 1 })
	waitedSince := time.Now()
	// The condition waited for is the passing of the line's read timeout
	// (three times over) while the server itself is busy.
	testnet.WaitFor(t, "three read timeouts to pass", func() bool { return time.Since(waitedSince) > 3*readTimeout })
	close(held.release)
	if got := readResponses(t, r, 1); got != "ok\n\n" {
		t.Fatalf("first put answered %q", got)
	}
	if got := exchange(t, c, r, "1\n", 1); got != "ok\n\n" {
		t.Fatalf("the line finished after the server's wait answered %q", got)
	}
}
