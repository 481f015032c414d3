package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"metricsd/internal/lines"
	"metricsd/internal/protocol"
	"metricsd/internal/store"
)

// Buffer sizes of a session. Lines up to readBufferSize are parsed in place
// from the read buffer; longer ones are gathered up to the line limit.
const (
	readBufferSize  = 16 << 10
	writeBufferSize = 16 << 10
)

// session is one client connection: it reads request lines, answers each in
// order, and flushes only when no complete line is left in the read buffer,
// so that a pipelined batch is answered in one write.
//
// Writes to w don't check their error: bufio.Writer keeps the first one and
// returns it from every later Write and Flush, where serve acts on it.
type session struct {
	srv  *Server
	conn net.Conn
	tc   *timedConn
	r    *lines.Reader
	w    *bufio.Writer
	m    *Metrics

	req         protocol.Request
	writePoints store.VisitFunc         // bound once, so a get allocates no closure
	points      protocol.PointFormatter // formats the lines of get answers
	putSample   uint                    // puts so far, to time one in putSampleEvery
	putsOK      int                     // puts answered ok since the counter was last updated

	// pending holds the submitted puts not yet answered, in order: puts
	// are submitted without waiting, and their answers written once they
	// are committed, so one client's pipelined puts share a write and an
	// fsync.
	pending []store.Ticket
}

// putSampleEvery is how many puts a session makes per put it times for
// the latency histogram.
const putSampleEvery = 16

// maxPointText bounds a point's text after its key: a space, the longest
// repr of a float64 (24 bytes), a space, the longest int64 (20) and "\n".
const maxPointText = 1 + 24 + 1 + 20 + 1

// maxPending bounds the puts a session submits before answering them, and
// so the memory a pipelining client can pin.
const maxPending = 1024

func newSession(srv *Server, conn net.Conn) *session {
	cfg := &srv.cfg
	tc := &timedConn{
		conn:         conn,
		readTimeout:  cfg.ReadTimeout,
		idleTimeout:  cfg.IdleTimeout,
		writeTimeout: cfg.WriteTimeout,
		metrics:      cfg.Metrics,
	}
	s := &session{
		srv:  srv,
		conn: conn,
		tc:   tc,
		r:    lines.NewReader(tc, readBufferSize, cfg.MaxLineLength),
		w:    bufio.NewWriterSize(tc, writeBufferSize),
		m:    cfg.Metrics,
	}
	s.writePoints = s.appendPoints
	return s
}

// Interrupt makes the session stop reading: it answers what it has already
// read, flushes and closes.
func (s *session) Interrupt() { s.tc.interrupt() }

// Close closes the connection, so that Serve returns at once.
func (s *session) Close() error { return s.conn.Close() }

// Serve runs the session until the client goes away, the connection fails,
// or the server interrupts it.
func (s *session) Serve() {
	defer s.conn.Close()
	if err := s.handshake(); err != nil {
		s.closed(closeTLS, err)
		return
	}
	for {
		if (s.w.Buffered() > 0 || len(s.pending) > 0) && !s.r.LineBuffered() {
			s.settle()
			s.countPuts()
			if err := s.w.Flush(); err != nil {
				s.closed(s.writeFailure(err), err)
				return
			}
		}
		line, err := s.r.Next()
		switch {
		case err == nil:
			s.handle(line)
		case errors.Is(err, lines.ErrTooLong):
			s.settle()
			s.m.lineTooLong.Inc()
			s.w.WriteString(protocol.ReplyWrongCommand)
		default:
			// End of input: a partial line is dropped, answers owed are sent.
			s.settle()
			s.countPuts()
			s.w.Flush()
			s.closed(s.readFailure(err), err)
			return
		}
	}
}

// handshake completes a TLS handshake within the read timeout, so that a
// client that connects and sends nothing is not waited on forever.
func (s *session) handshake() error {
	tlsConn, ok := s.conn.(*tls.Conn)
	if !ok {
		return nil
	}
	limit := s.srv.cfg.ReadTimeout
	if limit == 0 {
		limit = handshakeTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return tlsConn.HandshakeContext(ctx)
}

// readFailure names why reading ended.
func (s *session) readFailure(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if reason := s.tc.timeoutReason(); reason != "" {
			return reason
		}
	}
	return closeClient
}

// writeFailure names why writing failed.
func (s *session) writeFailure(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return closeWriteTimeout
	}
	return closeClient
}

// closed records why the session ended. A client dropped for not reading
// is worth a warning; the other reasons are routine.
func (s *session) closed(reason string, err error) {
	s.m.connsClosed.WithLabelValues(reason).Inc()
	if reason == closeWriteTimeout {
		s.srv.log.Warn("dropped a client that stopped reading", "remote", s.conn.RemoteAddr(), "timeout", s.srv.cfg.WriteTimeout)
		return
	}
	if !errors.Is(err, io.EOF) {
		s.srv.log.Debug("session closed", "remote", s.conn.RemoteAddr(), "reason", reason, "err", err)
	}
}

// handle answers one complete request line.
func (s *session) handle(line []byte) {
	if err := protocol.Parse(line, &s.req); err != nil {
		s.settle()
		s.m.wrongCommand.Inc()
		s.w.WriteString(protocol.ReplyWrongCommand)
		return
	}
	switch s.req.Command {
	case protocol.CmdPut:
		// Timing every put cost 15% of the server under pipelined load
		// (two clock reads and an Observe for ~0.2 µs of work), so one put
		// in putSampleEvery is timed: the histogram keeps its shape, and
		// metricsd_requests_total keeps the exact count.
		s.putSample++
		if s.putSample%putSampleEvery != 0 {
			s.put()
			return
		}
		start := time.Now()
		s.put()
		s.m.putSeconds.Observe(time.Since(start).Seconds())
	case protocol.CmdGet:
		start := time.Now()
		s.get()
		s.m.getSeconds.Observe(time.Since(start).Seconds())
	}
}

func (s *session) put() {
	s.submit(store.Point{Timestamp: s.req.Timestamp, Value: s.req.Value})
}

// countPuts adds the puts answered ok since the last call to
// metricsd_requests_total. It runs before every flush of answers, so the
// counter includes a put by the time its client reads "ok": one add per
// batch instead of an atomic per put.
func (s *session) countPuts() {
	if s.putsOK > 0 {
		s.m.putOK.Add(float64(s.putsOK))
		s.putsOK = 0
	}
}

// submit hands a put to the storage without waiting for it to commit; its
// answer is written by settle. A refused submit is answered at once, after
// the answers owed before it.
func (s *session) submit(p store.Point) {
	t, err := s.srv.cfg.Storage.Submit(s.req.Key, p)
	if err != nil {
		s.settle()
		s.m.putError.Inc()
		s.serverError(err)
		return
	}
	s.pending = append(s.pending, t)
	if len(s.pending) >= maxPending {
		s.settle()
	}
}

// settle waits for the submitted puts and writes their answers, in order.
// Every answer that is not a submitted put's is written after a settle, so
// answers keep the order of the requests, and a get sees the puts before
// it.
func (s *session) settle() {
	for _, t := range s.pending {
		if err := t.Wait(); err != nil {
			s.m.putError.Inc()
			s.serverError(err)
			continue
		}
		s.putsOK++
		s.w.WriteString(protocol.ReplyOK)
	}
	s.pending = s.pending[:0]
}

// get streams the answer straight into the writer, which flushes whenever
// it fills: a large answer is never built whole.
func (s *session) get() {
	s.settle()
	s.countPuts() // a long answer flushes the puts' answers before it
	s.w.WriteString(protocol.ReplyOKHeader)
	var err error
	if s.req.AllKeys {
		s.m.getAllOK.Inc()
		err = s.srv.cfg.Storage.All(s.writePoints)
	} else {
		s.m.getOK.Inc()
		err = s.srv.cfg.Storage.Get(s.req.Key, s.writePoints)
	}
	if err != nil {
		// The header is out, so the answer can't become an error; the
		// client sees the connection close instead of a wrong answer.
		s.srv.log.Debug("get failed mid-answer; closing session", "remote", s.conn.RemoteAddr(), "err", err)
		s.conn.Close()
		return
	}
	s.w.WriteString(protocol.ReplyEnd)
}

// appendPoints formats points straight into the writer's free buffer
// space and hands them to it once the space runs out, not point by point,
// so a point is formatted once and the writer's per-call bookkeeping is
// paid per buffer. A point that might not fit the space left flushes first;
// only a key longer than the whole buffer makes Append grow a new slice.
func (s *session) appendPoints(key []byte, points []store.Point) error {
	buf := s.w.AvailableBuffer()
	for _, p := range points {
		if cap(buf)-len(buf) < len(key)+maxPointText && len(buf)+s.w.Buffered() > 0 {
			if _, err := s.w.Write(buf); err != nil {
				return err
			}
			if err := s.w.Flush(); err != nil {
				return err
			}
			buf = s.w.AvailableBuffer()
		}
		buf = s.points.Append(buf, key, p.Value, p.Timestamp)
	}
	_, err := s.w.Write(buf)
	return err
}

// storageFailed is the answer to a put that the storage could not take
// for a reason other than a limit (a failed disk, a storage closing): a
// fixed text, documented in docs/protocol.md. The error itself, with its
// paths, goes to the log; the engine logs its failure when it happens.
const storageFailed = "storage failed"

// serverError answers a put the storage refused: a limit's refusal with
// its own text (it names the limit, never a path), a cluster that could
// not acknowledge with store.ErrUnavailable's fixed text, anything else
// with storageFailed.
func (s *session) serverError(err error) {
	text := storageFailed
	switch {
	case errors.Is(err, store.ErrLimit):
		text = err.Error()
	case errors.Is(err, store.ErrUnavailable):
		text = store.ErrUnavailable.Error()
	}
	s.srv.log.Debug("put refused", "err", err)
	s.w.Write(protocol.AppendError(s.w.AvailableBuffer(), text))
}
