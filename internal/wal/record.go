package wal

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record types: the first byte of a frame body.
const (
	// TypeSeries names a series: uvarint id, then the key's bytes to the end
	// of the body. It is logged once, before the series' first point.
	TypeSeries byte = 1
	// TypePoints holds points: repeated (uvarint series id, zigzag varint
	// timestamp delta from the previous point of the record (the first from
	// 0), 8-byte little-endian IEEE 754 value bits).
	TypePoints byte = 2
	// TypeDelete deletes a series (a tombstone, issue #11.2): uvarint id.
	// Replay forgets the series, points and all; a later series record
	// for the same key starts a new series under a new id.
	TypeDelete byte = 3
)

// knownType reports whether typ is a record type of the log.
func knownType(typ byte) bool { return typ == TypeSeries || typ == TypePoints || typ == TypeDelete }

// DefaultMaxPointsBody bounds a points record's body unless the log's
// segments are so small that a quarter of one is less.
const DefaultMaxPointsBody = 32 << 10

// MaxPointsBody is the bound of a points record's body for segments of
// segSize bytes: small enough that records pack segments well and that a
// reader never holds a huge one.
func MaxPointsBody(segSize int64) int {
	if segSize <= 0 {
		segSize = DefaultSegmentSize
	}
	return int(min(DefaultMaxPointsBody, segSize/4))
}

// maxPointSize is the largest encoding of one point in a points record.
const maxPointSize = binary.MaxVarintLen64*2 + 8

// SeriesRecordSize is the size on disk of the series record of a key of
// keyLen bytes with the largest id; a key whose record doesn't fit a segment
// can't be logged.
func SeriesRecordSize(keyLen int) int {
	return HeaderSize + 1 + binary.MaxVarintLen64 + keyLen
}

// Batch gathers records to be appended to the log in one write. Series
// frames are finished at once; points go into an open points frame that is
// finished when a series record must come between, when it is full, or by
// Bytes. A Batch is not safe for concurrent use.
type Batch struct {
	buf    []byte
	max    int   // bound of a points record's body
	open   int   // start of the open points frame, or -1
	lastTS int64 // timestamp of the open frame's last point
	points int   // points added since Reset
}

// NewBatch returns an empty batch with room for size bytes, whose points
// records have bodies of at most maxBody bytes (see MaxPointsBody).
func NewBatch(size, maxBody int) *Batch {
	return &Batch{buf: make([]byte, 0, size), max: max(maxBody, maxPointSize+1), open: -1}
}

// AddSeries appends the record that names series id.
func (b *Batch) AddSeries(id uint64, key []byte) {
	b.closePoints()
	var start int
	b.buf, start = BeginFrame(b.buf, TypeSeries)
	b.buf = binary.AppendUvarint(b.buf, id)
	b.buf = append(b.buf, key...)
	FinishFrame(b.buf, start)
}

// AddDelete appends the tombstone of series id.
func (b *Batch) AddDelete(id uint64) {
	b.closePoints()
	var start int
	b.buf, start = BeginFrame(b.buf, TypeDelete)
	b.buf = binary.AppendUvarint(b.buf, id)
	FinishFrame(b.buf, start)
}

// AddPoint appends one point of series id to the open points record,
// starting a new record when there is none or it is full.
func (b *Batch) AddPoint(id uint64, ts int64, v float64) {
	if b.open >= 0 && len(b.buf)-b.open-HeaderSize+maxPointSize > b.max {
		b.closePoints()
	}
	if b.open < 0 {
		b.buf, b.open = BeginFrame(b.buf, TypePoints)
		b.lastTS = 0
	}
	b.buf = binary.AppendUvarint(b.buf, id)
	b.buf = binary.AppendVarint(b.buf, ts-b.lastTS)
	b.buf = binary.LittleEndian.AppendUint64(b.buf, math.Float64bits(v))
	b.lastTS = ts
	b.points++
}

func (b *Batch) closePoints() {
	if b.open >= 0 {
		FinishFrame(b.buf, b.open)
		b.open = -1
	}
}

// Bytes finishes the open record and returns the batch's frames. The slice
// is valid until the next Add or Reset.
func (b *Batch) Bytes() []byte {
	b.closePoints()
	return b.buf
}

// Len is the number of bytes in the batch.
func (b *Batch) Len() int { return len(b.buf) }

// Points is the number of points added since Reset.
func (b *Batch) Points() int { return b.points }

// Reset empties the batch, keeping its buffer.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.open = -1
	b.points = 0
}

// DecodeSeries decodes the payload of a TypeSeries record. key aliases
// payload.
func DecodeSeries(payload []byte) (id uint64, key []byte, err error) {
	id, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: series id", ErrBadRecord)
	}
	return id, payload[n:], nil
}

// DecodePoints calls fn for each point of the payload of a TypePoints
// record, in order, and stops at fn's first error.
func DecodePoints(payload []byte, fn func(id uint64, ts int64, v float64) error) error {
	var ts int64
	for len(payload) > 0 {
		id, n := binary.Uvarint(payload)
		if n <= 0 {
			return fmt.Errorf("%w: point series id", ErrBadRecord)
		}
		payload = payload[n:]
		delta, n := binary.Varint(payload)
		if n <= 0 || len(payload)-n < 8 {
			return fmt.Errorf("%w: point timestamp or value", ErrBadRecord)
		}
		ts += delta
		v := math.Float64frombits(binary.LittleEndian.Uint64(payload[n:]))
		payload = payload[n+8:]
		if err := fn(id, ts, v); err != nil {
			return err
		}
	}
	return nil
}

// DecodeDelete decodes the payload of a TypeDelete record.
func DecodeDelete(payload []byte) (id uint64, err error) {
	id, n := binary.Uvarint(payload)
	if n <= 0 || n != len(payload) {
		return 0, fmt.Errorf("%w: delete record", ErrBadRecord)
	}
	return id, nil
}
