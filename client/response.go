package client

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"metricsd/internal/protocol"
)

// Response statuses, as lines without their "\n".
const (
	statusOK    = "ok"
	statusError = "error"
)

// readLine returns the next line without its "\n". The slice is valid only
// until the next read. A line longer than cn.maxLine is an ErrProtocol; an
// end of stream before "\n" is io.ErrUnexpectedEOF.
func (cn *conn) readLine() ([]byte, error) {
	line, err := cn.r.ReadSlice('\n')
	if err == nil {
		return cn.checkLen(line)
	}
	cn.long = append(cn.long[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(cn.long) > cn.maxLine {
			return nil, protocolErrorf("response line longer than %d bytes", cn.maxLine)
		}
		line, err = cn.r.ReadSlice('\n')
		cn.long = append(cn.long, line...)
	}
	if err == nil {
		return cn.checkLen(cn.long)
	}
	if errors.Is(err, io.EOF) {
		return nil, io.ErrUnexpectedEOF
	}
	return nil, err
}

// checkLen strips the "\n" from a complete line and enforces maxLine.
func (cn *conn) checkLen(line []byte) ([]byte, error) {
	if len(line) > cn.maxLine {
		return nil, protocolErrorf("response line longer than %d bytes", cn.maxLine)
	}
	return line[:len(line)-1], nil
}

// readStatus reads a status line. On "ok" it returns nil, leaving the
// payload to the caller; on "error" it reads the message and the closing
// empty line and returns a *ServerError.
func (cn *conn) readStatus() error {
	line, err := cn.readLine()
	if err != nil {
		return err
	}
	switch string(line) {
	case statusOK:
		return nil
	case statusError:
		return cn.readServerError()
	default:
		return protocolErrorf("unexpected status line %q", line)
	}
}

// readServerError reads "<msg>\n\n" after an "error" status line.
func (cn *conn) readServerError() error {
	line, err := cn.readLine()
	if err != nil {
		return err
	}
	if len(line) == 0 {
		return protocolErrorf("error response without a message")
	}
	msg := string(line)
	if line, err = cn.readLine(); err != nil {
		return err
	}
	if len(line) != 0 {
		return protocolErrorf("error response has more than one line: %q", line)
	}
	return &ServerError{Msg: msg}
}

// readPutResponse reads the answer to a put: "ok\n\n" or an error.
func (cn *conn) readPutResponse() error {
	if err := cn.readStatus(); err != nil {
		return err
	}
	line, err := cn.readLine()
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return protocolErrorf("put answered with a payload line %q", line)
	}
	return nil
}

// readGetResponse reads the answer to "get <key>" into a seriesBuilder.
// Every point line must name key, unless key is "*".
func (cn *conn) readGetResponse(key string, sb *seriesBuilder) error {
	if err := cn.readStatus(); err != nil {
		return err
	}
	for {
		line, err := cn.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		k, p, err := parsePoint(line)
		if err != nil {
			return err
		}
		if key != allKeys && string(k) != key {
			return protocolErrorf("get %q answered with key %q", key, k)
		}
		sb.add(k, p)
	}
}

// parsePoint parses "<key> <value> <timestamp>" (single spaces, value as
// Python float(), timestamp as Python int()). key is a view into line.
func parsePoint(line []byte) (key []byte, p Point, err error) {
	key, rest, ok1 := bytes.Cut(line, []byte{' '})
	val, ts, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || bytes.IndexByte(ts, ' ') >= 0 {
		return nil, Point{}, protocolErrorf("point line %q does not have 3 fields", line)
	}
	if checkKey(key) != nil {
		return nil, Point{}, protocolErrorf("point line %q has an invalid key", line)
	}
	if p.Value, err = protocol.ParseFloat(val); err != nil {
		return nil, Point{}, protocolErrorf("point line %q has an invalid value", line)
	}
	if p.Timestamp, err = protocol.ParseInt(ts); err != nil {
		return nil, Point{}, protocolErrorf("point line %q has an invalid timestamp", line)
	}
	return key, p, nil
}
