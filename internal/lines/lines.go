// Package lines reads "\n"-terminated lines from a stream with a bounded
// line length, parsing in place from the read buffer. Both the protocol
// port and the Graphite port read through it, so they share one framing:
// any split of the input, a line limit enforced without buffering the
// excess, and a session that goes on after an over-long line.
package lines

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrTooLong is returned once for each line longer than the limit, as soon
// as the limit is passed; the rest of that line is then skipped.
var ErrTooLong = errors.New("lines: line too long")

// Reader returns one line at a time. Lines that fit the read buffer are
// returned as views into it; longer ones are gathered in an overflow buffer
// that never grows past the limit.
type Reader struct {
	r          *bufio.Reader
	max        int
	overflow   []byte
	discarding bool // skipping the rest of an over-long line
}

// NewReader reads from r through a buffer of bufSize bytes and allows lines
// of up to max bytes before their "\n".
func NewReader(r io.Reader, bufSize, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// LineBuffered reports whether the next Next can return without reading
// from the underlying reader, because a "\n" is already buffered. Callers
// flush their answers when it is false: Next may then block, and answers
// owed must not wait behind a partial line.
func (lr *Reader) LineBuffered() bool {
	buf, _ := lr.r.Peek(lr.r.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// Next returns the next complete line including its "\n". The slice is
// valid only until the next call. It returns ErrTooLong for an over-long
// line, and the underlying reader's error (io.EOF at a clean end) when the
// input ends; an unterminated last line is dropped.
func (lr *Reader) Next() ([]byte, error) {
	for {
		line, err := lr.r.ReadSlice('\n')
		switch {
		case err == nil:
			if lr.discarding {
				lr.discarding = false // the over-long line ends here
				continue
			}
			line = lr.join(line)
			if len(line)-1 > lr.max {
				return nil, ErrTooLong
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if lr.gather(line) {
				return nil, ErrTooLong
			}
		default:
			lr.overflow, lr.discarding = lr.overflow[:0], false
			return nil, err
		}
	}
}

// gather keeps a fragment of a line longer than the read buffer and reports
// whether the fragment made the line too long, in which case the rest of
// the line is skipped instead.
func (lr *Reader) gather(frag []byte) bool {
	if lr.discarding {
		return false
	}
	if len(lr.overflow)+len(frag) > lr.max {
		lr.overflow, lr.discarding = lr.overflow[:0], true
		return true
	}
	lr.overflow = append(lr.overflow, frag...)
	return false
}

// join returns end prefixed by any gathered fragments of its line.
func (lr *Reader) join(end []byte) []byte {
	if len(lr.overflow) == 0 {
		return end
	}
	line := append(lr.overflow, end...)
	lr.overflow = line[:0]
	return line
}
