package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"metricsd/internal/protocol"
)

// readBufferSize is a connection's response buffer. A response line longer
// than this is judged bad without being gathered: the generator's own keys
// are short, so only a broken server sends one.
const readBufferSize = 64 << 10

// Verdict is how an answer compares with what its request expects.
type Verdict uint8

// The verdicts.
const (
	VerdictOK    Verdict = iota // the expected answer
	VerdictError                // a well-framed "error\n<reason>\n\n"
	VerdictBad                  // anything else that ends in an empty line
)

// Expect is what the answer to one request must be.
type Expect struct {
	// Get is true for a get: "ok\n", point lines, "\n". Otherwise the
	// answer must be exactly "ok\n\n".
	Get bool
	// Key, for a get of one key, is the key every point line must start
	// with; nil accepts any key ("get *").
	Key []byte
	// CheckNumbers parses each point's value and timestamp as the protocol
	// prints them. "get *" skips it so that the client's parsing does not
	// inflate the round trip being timed; its lines are still checked for
	// three fields.
	CheckNumbers bool
}

// Answer is one parsed response.
type Answer struct {
	Verdict Verdict
	Points  int64 // point lines in a get's answer
}

// errLongLine is a response line that does not fit the read buffer.
var errLongLine = errors.New("response line longer than the read buffer")

// Reader parses responses (status line, payload lines, empty line) from a
// stream, in place from its buffer. It allocates nothing after NewReader.
type Reader struct {
	src   io.Reader
	buf   []byte
	r, w  int
	n     int64 // bytes consumed
	fills int64 // reads that returned data
}

// NewReader reads responses from src.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: src, buf: make([]byte, readBufferSize)}
}

// BytesRead is how many bytes of responses have been consumed.
func (rd *Reader) BytesRead() int64 { return rd.n }

// Fills counts the reads from the stream that returned data. The answer
// Next just returned was completed by the latest of them, so answers seen
// with the same Fills arrived in the same read.
func (rd *Reader) Fills() int64 { return rd.fills }

// Next reads one whole response and judges it against exp. It returns an
// error only when the stream fails (the connection must then be dropped):
// a wrong answer that is still framed by an empty line is a verdict, and
// reading goes on after it.
func (rd *Reader) Next(exp Expect) (Answer, error) {
	if !exp.Get && bytes.HasPrefix(rd.buf[rd.r:rd.w], okReply) {
		rd.consume(len(okReply)) // the fast path of a put
		return Answer{Verdict: VerdictOK}, nil
	}
	status, err := rd.line()
	if err != nil {
		return Answer{}, err
	}
	switch string(status) {
	case "ok":
		return rd.points(exp)
	case "error":
		return rd.skipPayload(VerdictError)
	}
	if len(status) == 0 {
		return Answer{Verdict: VerdictBad}, nil // a lone empty line ends this answer
	}
	return rd.skipPayload(VerdictBad)
}

var okReply = []byte(protocol.ReplyOK)

// points reads a get's point lines up to the empty line; a put's answer
// must have none.
func (rd *Reader) points(exp Expect) (Answer, error) {
	a := Answer{Verdict: VerdictOK}
	for {
		line, err := rd.line()
		if err != nil {
			return a, err
		}
		if len(line) == 0 {
			return a, nil
		}
		a.Points++
		if !exp.Get || !validPoint(line, exp) {
			a.Verdict = VerdictBad
		}
	}
}

// skipPayload reads up to the empty line that ends the answer.
func (rd *Reader) skipPayload(v Verdict) (Answer, error) {
	for {
		line, err := rd.line()
		if err != nil {
			return Answer{Verdict: v}, err
		}
		if len(line) == 0 {
			return Answer{Verdict: v}, nil
		}
	}
}

// validPoint checks "<key> <value> <timestamp>": three non-empty fields,
// the key exp.Key when set, and the numbers when exp.CheckNumbers.
func validPoint(line []byte, exp Expect) bool {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return false
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 || sp2 == len(rest)-1 || bytes.IndexByte(rest[sp2+1:], ' ') >= 0 {
		return false
	}
	if exp.Key != nil && !bytes.Equal(line[:sp1], exp.Key) {
		return false
	}
	if !exp.CheckNumbers {
		return true
	}
	if _, err := protocol.ParseFloat(rest[:sp2]); err != nil {
		return false
	}
	_, err := protocol.ParseInt(rest[sp2+1:])
	return err == nil
}

// line returns the next line without its "\n", valid until the next call.
func (rd *Reader) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n'); i >= 0 {
			line := rd.buf[rd.r : rd.r+i]
			rd.consume(i + 1)
			return line, nil
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

func (rd *Reader) consume(k int) {
	rd.r += k
	rd.n += int64(k)
}

// fill reads more input after moving the unread bytes to the front.
func (rd *Reader) fill() error {
	if rd.r > 0 {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	if rd.w == len(rd.buf) {
		return errLongLine
	}
	n, err := rd.src.Read(rd.buf[rd.w:])
	rd.w += n
	if n > 0 {
		rd.fills++
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return fmt.Errorf("read response: %w", err)
}
