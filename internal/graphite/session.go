package graphite

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"metricsd/internal/lines"
	"metricsd/internal/store"
)

// readBufferSize is a session's read buffer: lines up to this size are
// parsed in place; longer ones are gathered up to the line limit. With the
// overflow buffer (at most the line limit) it bounds a connection's memory.
const readBufferSize = 16 << 10

// logLineBytes bounds how much of a dropped line a warning quotes.
const logLineBytes = 200

// session is one agent's connection: it reads lines and stores each good
// one. It never writes: the plaintext protocol has no replies.
type session struct {
	rcv  *Receiver
	conn net.Conn
	in   countingReader
	r    *lines.Reader
	line Line

	// pending holds the puts submitted since the last settle.
	pending []store.Ticket
	// Counts not yet added to the shared metrics (see flushCounts).
	stored  int64
	dropped [len(reasons)]int64

	mu          sync.Mutex // guards interrupted against the read deadline
	interrupted bool
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

// Read implements io.Reader.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func newSession(rcv *Receiver, conn net.Conn) *session {
	s := &session{rcv: rcv, conn: conn, in: countingReader{r: conn}}
	s.r = lines.NewReader(&s.in, readBufferSize, rcv.cfg.MaxLineLength)
	return s
}

// Interrupt makes the session stop reading: it stores the complete lines
// already buffered, then ends.
func (s *session) Interrupt() {
	s.mu.Lock()
	s.interrupted = true
	s.conn.SetReadDeadline(time.Now())
	s.mu.Unlock()
}

// Close closes the connection, so that Serve returns at once.
func (s *session) Close() error { return s.conn.Close() }

// Serve runs the session until the agent goes away, the idle timeout
// passes, or the Receiver interrupts it. A partial last line is dropped, as
// carbon drops it.
func (s *session) Serve() {
	defer s.conn.Close()
	defer s.flushCounts()
	defer s.settle()
	for {
		if !s.r.LineBuffered() {
			// Next may block on the network: wait for the puts submitted
			// so far, publish the counts, and arm the idle timeout.
			s.settle()
			s.flushCounts()
			s.armIdleTimeout()
		}
		line, err := s.r.Next()
		switch {
		case err == nil:
			s.handle(line)
		case errors.Is(err, lines.ErrTooLong):
			s.drop(ReasonTooLong, nil, nil)
		default:
			s.ended(err)
			return
		}
	}
}

// armIdleTimeout sets the read deadline for the next read, unless the
// session was interrupted (whose deadline must stay in the past).
func (s *session) armIdleTimeout() {
	if s.rcv.cfg.IdleTimeout <= 0 {
		return
	}
	s.mu.Lock()
	if !s.interrupted {
		s.conn.SetReadDeadline(time.Now().Add(s.rcv.cfg.IdleTimeout))
	}
	s.mu.Unlock()
}

// ended logs why the connection ended, when that is worth a line.
func (s *session) ended(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
	case errors.As(err, &ne) && ne.Timeout() && !s.isInterrupted():
		s.rcv.log.Debug("graphite connection idle; closing", "remote", s.conn.RemoteAddr().String())
	default:
		s.rcv.log.Debug("graphite connection ended", "remote", s.conn.RemoteAddr().String(), "err", err)
	}
}

func (s *session) isInterrupted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupted
}

// handle stores one complete line, or drops it.
func (s *session) handle(line []byte) {
	if err := ParseLine(line, &s.line); err != nil {
		s.drop(ReasonOf(err), line, nil)
		return
	}
	ts := s.line.Timestamp
	if s.line.Now {
		ts = s.rcv.now().Unix()
	}
	t, err := s.rcv.cfg.Storage.Submit(s.line.Path, store.Point{Timestamp: ts, Value: s.line.Value})
	if err != nil {
		s.drop(storeReason(err), line, err)
		return
	}
	s.pending = append(s.pending, t)
	if len(s.pending) >= maxPending {
		s.settle()
	}
}

// maxPending bounds the puts a session submits before it waits for them,
// and so what one agent can have in flight.
const maxPending = 1024

// settle waits for the submitted puts and counts each as stored or
// dropped. The line of a put refused at this point is gone from the read
// buffer, so its warning has no line.
func (s *session) settle() {
	for _, t := range s.pending {
		if err := t.Wait(); err != nil {
			s.drop(storeReason(err), nil, err)
			continue
		}
		s.stored++
	}
	clear(s.pending)
	s.pending = s.pending[:0]
}

// storeReason is the drop reason of a put the storage refused.
func storeReason(err error) string {
	if errors.Is(err, store.ErrFuture) {
		return ReasonFuture
	}
	return ReasonStore
}

// drop counts a dropped line and logs it (rate-limited). NaN values are
// only counted: agents such as collectd send "nan" for unknown readings in
// normal operation, and carbon drops them silently too.
func (s *session) drop(reason string, line []byte, err error) {
	s.dropped[reasonIndex(reason)]++
	if reason != ReasonNaN {
		s.rcv.logDrop(reason, s.conn, line, err)
	}
}

// flushCounts adds the session's counts to the shared metrics.
func (s *session) flushCounts() {
	m := s.rcv.metrics
	if s.stored > 0 {
		m.stored.Add(float64(s.stored))
		s.stored = 0
	}
	for i, n := range s.dropped {
		if n > 0 {
			m.dropped[i].Add(float64(n))
			s.dropped[i] = 0
		}
	}
	if s.in.n > 0 {
		m.bytes.Add(float64(s.in.n))
		s.in.n = 0
	}
}

// logDrop warns about a dropped line, at most once per LogInterval across
// all connections; line is quoted (truncated) so that any bytes are safe in
// the log.
func (r *Receiver) logDrop(reason string, conn net.Conn, line []byte, err error) {
	suppressed, ok := r.badLines.allow()
	if !ok {
		return
	}
	args := []any{"reason", reason, "remote", conn.RemoteAddr().String()}
	if line != nil {
		line = bytes.TrimRight(line, "\r\n")
		args = append(args, "line", string(line[:min(len(line), logLineBytes)]))
	}
	if err != nil {
		args = append(args, "err", err)
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	r.log.Warn("graphite line dropped", args...)
}
