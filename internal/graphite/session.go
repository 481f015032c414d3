package graphite

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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

// newSession wraps conn in TLS when the Receiver has a TLS configuration;
// Serve completes the handshake first.
func newSession(rcv *Receiver, conn net.Conn) *session {
	if rcv.cfg.TLS != nil {
		conn = tls.Server(conn, rcv.cfg.TLS)
	}
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
	if err := s.handshake(); err != nil {
		s.rcv.metrics.handshakeFailures.Inc()
		s.rcv.log.Debug("graphite TLS handshake failed", "remote", s.conn.RemoteAddr().String(), "err", err)
		return
	}
	defer s.flushCounts()
	for {
		if !s.r.LineBuffered() {
			// Next may block on the network: publish the counts so far, and
			// arm the idle timeout.
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

// handshake completes a TLS handshake within HandshakeTimeout (or the idle
// timeout, when shorter). Plain TCP sent to the TLS port fails it, and the
// connection is closed without reading further.
func (s *session) handshake() error {
	tlsConn, ok := s.conn.(*tls.Conn)
	if !ok {
		return nil
	}
	limit := HandshakeTimeout
	if t := s.rcv.cfg.IdleTimeout; t > 0 && t < limit {
		limit = t
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("graphite: TLS handshake: %w", err)
	}
	return nil
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
	if err := s.rcv.cfg.Storage.Put(s.line.Path, store.Point{Timestamp: ts, Value: s.line.Value}); err != nil {
		s.drop(ReasonStore, line, err)
		return
	}
	s.stored++
}

// drop counts a dropped line and logs it (rate-limited). NaN values are
// only counted: agents such as collectd send "nan" for unknown readings in
// normal operation, and carbon drops them silently too.
func (s *session) drop(reason string, line []byte, err error) {
	s.dropped[reasonIndex(reason)]++
	if reason != ReasonNaN {
		s.rcv.logDrop(reason, TransportTCP, s.conn.RemoteAddr(), line, err)
	}
}

// flushCounts adds the session's counts to the shared metrics.
func (s *session) flushCounts() {
	m := &s.rcv.metrics.tcp
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
func (r *Receiver) logDrop(reason, transport string, remote fmt.Stringer, line []byte, err error) {
	suppressed, ok := r.badLines.allow()
	if !ok {
		return
	}
	args := []any{"reason", reason, "transport", transport, "remote", remote.String()}
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
