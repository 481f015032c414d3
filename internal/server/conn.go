package server

import (
	"sync"
	"time"

	"metricsd/internal/deadline"
)

// timedConn wraps a session's connection with the deadlines that protect
// the server from slow and idle clients, and counts the bytes for metrics.
//
//   - Every Write must finish within writeTimeout, so a client that stops
//     reading a large answer is dropped instead of holding a goroutine and
//     its buffers forever.
//   - A line that has started must end within readTimeout of its first
//     byte (slowloris); the deadline is set when a read ends mid-line and is
//     not extended by later bytes of the same line. It is extended by the
//     time the session spent away from reading meanwhile (answering the
//     complete lines before it, waiting for their puts to be stored): that
//     time is the server's, not the client's, and a cluster waiting for
//     acknowledgements must not turn into a reset of a pipelining client.
//   - Between lines, the connection may stay quiet for idleTimeout (0:
//     forever, as course clients keep sessions open between requests).
type timedConn struct {
	conn
	readTimeout, idleTimeout, writeTimeout time.Duration
	metrics                                *Metrics

	midLine       bool          // the last read ended inside a line
	lineDeadline  time.Time     // the read deadline of the line started, when midLine
	returned      time.Time     // when the last read returned, when midLine
	writeDeadline deadline.Lazy // see Write

	mu          sync.Mutex // orders interrupt against deadline updates
	interrupted bool
	readReason  string // why the read deadline in force was set
}

// conn is the part of net.Conn a session uses; tests may supply their own.
type conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// Read implements io.Reader for the session's line reader.
func (c *timedConn) Read(p []byte) (int, error) {
	switch {
	case !c.midLine:
		c.setReadDeadline(c.idleTimeout, closeIdleTimeout)
	case c.readTimeout > 0:
		if away := time.Since(c.returned); away > minAway {
			c.lineDeadline = c.lineDeadline.Add(away)
			c.setReadDeadlineAt(c.lineDeadline, closeReadTimeout)
		}
	}
	n, err := c.conn.Read(p)
	if n > 0 {
		c.metrics.bytesIn.Add(float64(n))
		ended := p[n-1] == '\n'
		if !ended && !c.midLine && c.readTimeout > 0 {
			c.lineDeadline = time.Now().Add(c.readTimeout)
			c.setReadDeadlineAt(c.lineDeadline, closeReadTimeout)
		}
		c.midLine = !ended
	}
	if c.midLine {
		c.returned = time.Now()
	}
	return n, err
}

// minAway is the time away from reading, mid-line, below which the line's
// deadline is not moved: it saves a deadline update per read of a
// pipelining client while costing the client at most that much.
const minAway = 10 * time.Millisecond

// Write implements io.Writer for the session's buffered writer. Every
// write has writeTimeout to finish; the deadline is renewed lazily
// (package deadline), so a client that stops reading is dropped after 1
// to 1.5 × writeTimeout and a pipelining client's many small flushes don't
// each pay for a runtime timer update.
func (c *timedConn) Write(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		if at, renew := c.writeDeadline.Renew(time.Now(), c.writeTimeout); renew {
			if err := c.conn.SetWriteDeadline(at); err != nil {
				return 0, err
			}
		}
	}
	n, err := c.conn.Write(p)
	c.metrics.bytesOut.Add(float64(n))
	return n, err
}

// setReadDeadline sets the read deadline d from now (none for 0), unless
// the session was interrupted, whose deadline in the past must stand.
func (c *timedConn) setReadDeadline(d time.Duration, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted || (d == 0 && c.readReason == "") {
		return
	}
	var at time.Time
	if d > 0 {
		at = time.Now().Add(d)
		c.readReason = reason
	} else {
		c.readReason = ""
	}
	c.conn.SetReadDeadline(at)
}

// setReadDeadlineAt sets the read deadline at, unless the session was
// interrupted, whose deadline in the past must stand.
func (c *timedConn) setReadDeadlineAt(at time.Time, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted {
		return
	}
	c.readReason = reason
	c.conn.SetReadDeadline(at)
}

// interrupt makes the pending and every later read fail at once.
func (c *timedConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interrupted = true
	c.readReason = closeShutdown
	c.conn.SetReadDeadline(time.Now())
}

// timeoutReason says which deadline a read timeout came from.
func (c *timedConn) timeoutReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readReason
}
