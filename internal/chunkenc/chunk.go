package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Point is one measurement: a value at a timestamp. The store's Point is
// this type, so runs of points pass between the two without copying.
type Point struct {
	Timestamp int64
	Value     float64
}

// Encoding is the first byte of a chunk and says how its body is laid out
// (see the package documentation).
type Encoding uint8

// The encodings. Their numbers are part of the stable byte format.
const (
	EncDecimal Encoding = 1 // decimal mantissas and one exponent, bit-packed
	EncBits    Encoding = 2 // IEEE bits, bit-packed
	EncStream  Encoding = 3 // variable-length codes per point (Appender)
)

// String names the encoding for logs and test output.
func (e Encoding) String() string {
	switch e {
	case EncDecimal:
		return "decimal"
	case EncBits:
		return "bits"
	case EncStream:
		return "stream"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// MaxPoints is the most points one chunk holds: the count is a uint16.
const MaxPoints = 1<<16 - 1

// headerLen is the size of a chunk's encoding byte and count.
const headerLen = 3

// ErrCorrupt is wrapped by every error about bytes that are not a valid
// chunk.
var ErrCorrupt = errors.New("chunkenc: corrupt chunk")

// ErrTooManyPoints is returned when asked to encode more than MaxPoints
// points into one chunk.
var ErrTooManyPoints = fmt.Errorf("chunkenc: more than %d points in a chunk", MaxPoints)

// corrupt returns an error wrapping ErrCorrupt with what was wrong.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// appendHeader appends a chunk's encoding byte and count.
func appendHeader(dst []byte, enc Encoding, count int) []byte {
	return binary.LittleEndian.AppendUint16(append(dst, byte(enc)), uint16(count))
}

// Header returns a chunk's encoding and point count, reading only its first
// three bytes: a cheap way to size a decode.
func Header(chunk []byte) (Encoding, int, error) {
	if len(chunk) < headerLen {
		return 0, 0, corrupt("%d bytes, shorter than a header", len(chunk))
	}
	enc := Encoding(chunk[0])
	if enc < EncDecimal || enc > EncStream {
		return 0, 0, corrupt("unknown encoding %d", chunk[0])
	}
	return enc, int(binary.LittleEndian.Uint16(chunk[1:])), nil
}

// Decode appends the points of chunk to dst, in the order they were
// encoded, and returns the extended slice. On error dst's length is
// unchanged (its spare capacity may have been written). Decode grows dst by
// at most the chunk's count (at most MaxPoints), so arbitrary input never
// makes it allocate more than MaxPoints points.
func Decode(dst []Point, chunk []byte) ([]Point, error) {
	enc, n, err := Header(chunk)
	if err != nil {
		return dst, err
	}
	body := chunk[headerLen:]
	if n == 0 {
		if len(body) != 0 {
			return dst, corrupt("empty %s chunk has a %d-byte body", enc, len(body))
		}
		return dst, nil
	}
	start := len(dst)
	dst = grow(dst, n)
	switch enc {
	case EncStream:
		err = decodeStream(dst[start:], body)
	default:
		err = decodeBlocks(dst[start:], enc, body)
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// grow extends dst by n points, reallocating only when its capacity is too
// small.
func grow(dst []Point, n int) []Point {
	if need := len(dst) + n; need > cap(dst) {
		bigger := make([]Point, len(dst), need)
		copy(bigger, dst)
		dst = bigger
	}
	return dst[:len(dst)+n]
}

// decodeBlocks decodes the body of an EncDecimal or EncBits chunk into pts,
// which has the chunk's length.
func decodeBlocks(pts []Point, enc Encoding, body []byte) error {
	rest, err := decodeIntBlock(pts, fieldTimestamp, body)
	if err != nil {
		return err
	}
	if enc == EncBits {
		rest, err = decodeIntBlock(pts, fieldValue, rest)
		if err != nil {
			return err
		}
	} else {
		if len(rest) == 0 {
			return corrupt("decimal chunk ends before its exponent")
		}
		exp := int(int8(rest[0]))
		if exp < -maxExp10 || exp > maxExp10 {
			return corrupt("decimal exponent %d out of range", exp)
		}
		rest, err = decodeIntBlock(pts, fieldValue, rest[1:])
		if err != nil {
			return err
		}
		mantissasToValues(pts, exp)
	}
	if len(rest) != 0 {
		return corrupt("%d bytes after the last block", len(rest))
	}
	return nil
}
