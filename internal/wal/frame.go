package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// castagnoli is built once: CRC-32C has hardware support on amd64 and arm64,
// and building the table per frame would cost more than checksumming it.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HeaderSize is the size of a frame header: the body length and the body's
// CRC-32C, both little-endian uint32.
const HeaderSize = 8

// MaxBodySize bounds a frame body, so a corrupt length can never make a
// reader allocate or scan more than this.
const MaxBodySize = 1 << 28

// Errors that describe why a frame could not be read. They are wrapped in a
// CorruptionError when they are not a torn tail.
var (
	ErrShortFrame = errors.New("frame extends past the end of the file")
	ErrChecksum   = errors.New("checksum mismatch in a complete record")
	ErrZeroLength = errors.New("zero-length frame")
	ErrBadLength  = errors.New("frame length larger than any record metricsd writes")
	ErrBadRecord  = errors.New("malformed record")
)

// CorruptionError says that the data in File is damaged at Offset in a way
// that is not a torn tail: startup must stop rather than drop what follows.
type CorruptionError struct {
	File   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt data in %s at offset %d: %v", e.File, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// BeginFrame appends a frame header to be filled later and the body's type
// byte, and returns the grown slice and the frame's start offset for
// FinishFrame. The payload is appended by the caller in between.
func BeginFrame(dst []byte, typ byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return dst, start
}

// FinishFrame fills in the header of the frame that starts at start and runs
// to the end of buf.
func FinishFrame(buf []byte, start int) {
	body := buf[start+HeaderSize:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(body, castagnoli))
}

// NextFrame reads the frame at off in buf and returns its body (type byte
// first) and the offset of the next frame. Every length is checked against
// len(buf) before it is used.
func NextFrame(buf []byte, off int) (body []byte, next int, err error) {
	if len(buf)-off < HeaderSize {
		return nil, off, ErrShortFrame
	}
	n := binary.LittleEndian.Uint32(buf[off:])
	sum := binary.LittleEndian.Uint32(buf[off+4:])
	switch {
	case n == 0:
		return nil, off, ErrZeroLength
	case int64(n) > int64(len(buf)-off-HeaderSize):
		return nil, off, ErrShortFrame
	case n > MaxBodySize:
		return nil, off, ErrBadLength
	}
	body = buf[off+HeaderSize : off+HeaderSize+int(n)]
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, off, ErrChecksum
	}
	return body, off + HeaderSize + int(n), nil
}

// validFrameAfter reports whether a complete frame with a correct checksum
// and a known record type starts anywhere in buf after off. A damaged frame
// followed by such a frame is corruption in the middle of the log; one
// followed by nothing valid is a torn tail.
func validFrameAfter(buf []byte, off int) bool { return NextValidFrame(buf, off) >= 0 }
