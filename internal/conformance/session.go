package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// answer is one acceptable reply to a request: metricsd's (PASS), or the
// reference server's where it differs (DIFF, with a note saying how).
type answer struct {
	want   []byte // empty: silence, the server sends nothing for a while
	status Status
	note   string
}

// is is metricsd's answer.
func is(want string) answer { return answer{want: []byte(want), status: Pass} }

// quirk is the reference server's answer where metricsd differs.
func quirk(want, note string) answer { return answer{want: []byte(want), status: Diff, note: note} }

// session is one connection to the checked server.
type session struct {
	conn  net.Conn
	buf   []byte        // received and not yet matched
	quiet time.Duration // how long silence must last to count as an answer
}

// dial connects to addr before ctx ends.
func dial(ctx context.Context, addr string, quiet time.Duration) (*session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &session{conn: conn, quiet: quiet}, nil
}

// send writes b whole before ctx ends.
func (s *session) send(ctx context.Context, b []byte) error {
	if d, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(d) // a failed set shows as a write error
	}
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// sendBytewise writes b one byte per write, with Nagle's algorithm off, so
// that the server sees it in as many segments as the network keeps apart.
func (s *session) sendBytewise(ctx context.Context, b []byte) error {
	if tc, ok := s.conn.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			return fmt.Errorf("set TCP_NODELAY: %w", err)
		}
	}
	for i := range b {
		if err := s.send(ctx, b[i:i+1]); err != nil {
			return err
		}
	}
	return nil
}

// errMismatch says the bytes received match no acceptable answer.
var errMismatch = errors.New("unexpected reply")

// await reads until the received bytes are exactly one of answers (and no
// longer answer is still possible), cannot become any of them, or ctx
// ends. It returns the index of the answer matched, or -1, the bytes
// received, and why nothing matched. Matched bytes are consumed.
func (s *session) await(ctx context.Context, answers []answer) (int, []byte, error) {
	deadline, _ := ctx.Deadline()
	var readErr error
	chunk := make([]byte, 64<<10)
	for {
		exact, longer := -1, false
		for i, a := range answers {
			switch {
			case bytes.Equal(s.buf, a.want):
				exact = i
			case bytes.HasPrefix(a.want, s.buf):
				longer = true
			}
		}
		if exact >= 0 && !longer {
			return s.take(exact)
		}
		if exact < 0 && !longer {
			got := s.consume()
			return -1, got, errMismatch
		}
		if readErr != nil {
			if exact >= 0 && errors.Is(readErr, os.ErrDeadlineExceeded) {
				return s.take(exact) // a shorter answer, then silence
			}
			return -1, s.consume(), readErr
		}
		d := deadline
		if exact >= 0 && s.quiet > 0 && (d.IsZero() || time.Until(d) > s.quiet) {
			// A complete answer (silence, or a shorter one) is in: wait
			// only so long for a longer one.
			d = time.Now().Add(s.quiet)
		}
		_ = s.conn.SetReadDeadline(d) // a failed set shows as a read error
		n, err := s.conn.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			readErr = errors.New("connection closed by the server")
		case errors.Is(err, os.ErrDeadlineExceeded):
			readErr = err
		default:
			readErr = fmt.Errorf("receive: %w", err)
		}
	}
}

// take consumes answer i's bytes and returns them.
func (s *session) take(i int) (int, []byte, error) {
	got := s.consume()
	return i, got, nil
}

// consume returns the received bytes and forgets them.
func (s *session) consume() []byte {
	got := s.buf
	s.buf = nil
	return got
}

// reply reads one whole reply, whatever it holds: up to the first empty
// line ("\n\n"), since no line of a reply is empty but the last.
func (s *session) reply(ctx context.Context) ([]byte, error) {
	deadline, _ := ctx.Deadline()
	chunk := make([]byte, 64<<10)
	for {
		if i := bytes.Index(s.buf, []byte("\n\n")); i >= 0 {
			got := s.buf[:i+2]
			s.buf = s.buf[i+2:]
			return got, nil
		}
		_ = s.conn.SetReadDeadline(deadline) // a failed set shows as a read error
		n, err := s.conn.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			return s.consume(), errors.New("connection closed by the server")
		}
		if err != nil {
			return s.consume(), fmt.Errorf("receive: %w", err)
		}
	}
}

// close closes the connection.
func (s *session) close() error { return s.conn.Close() }

// Escape renders b for a report: Go's quoted form, ASCII only, so that
// control bytes, invalid UTF-8 and non-ASCII text are all visible. Beyond
// limit bytes it shows the head and how many bytes follow.
func Escape(b []byte, limit int) string {
	if limit > 0 && len(b) > limit {
		return strconv.QuoteToASCII(string(b[:limit])) + "... (" + strconv.Itoa(len(b)-limit) + " more bytes)"
	}
	return strconv.QuoteToASCII(string(b))
}

// isTimeout says whether err is a read or write deadline passing.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
