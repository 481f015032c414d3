package snapshot

import (
	"bufio"

	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// LoadFunc receives the points of series id, named key, in the order they
// were written; a long series comes in several calls. key and pts are only
// valid during the call. An error stops Load and is returned.
type LoadFunc func(id uint64, key []byte, pts []store.Point) error

// ErrBadSnapshot is wrapped by every error about a damaged snapshot.
var ErrBadSnapshot = errors.New("snapshot damaged")

// loader reads one snapshot file, checking every length against the bytes
// left in the file.
type loader struct {
	path string
	r    *bufio.Reader
	off  int64 // offset of the next unread byte
	size int64
	sum  uint32 // CRC-32C of every byte read so far

	body   []byte
	pts    []store.Point
	id     uint64
	key    []byte
	inSer  bool
	series int
	points int
}

// Load reads the snapshot at path and calls fn for its series' points, in
// file order. A damaged file is a *wal.CorruptionError with the offset of
// the damage; fn is then not called for anything after it.
func Load(path string, fn LoadFunc) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("snapshot: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("snapshot: stat %s: %w", path, err)
	}
	l := &loader{path: path, r: bufio.NewReaderSize(f, 1<<20), size: st.Size()}
	seg, err := l.header()
	if err != nil {
		return Info{}, err
	}
	if err := l.records(fn); err != nil {
		return Info{}, err
	}
	return Info{Path: path, Segment: seg, Series: l.series, Points: l.points, Bytes: l.size}, nil
}

// corrupt returns the error for damage at off.
func (l *loader) corrupt(off int64, format string, args ...any) error {
	return &wal.CorruptionError{File: l.path, Offset: off, Err: fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))}
}

// read reads exactly n bytes into l.body, after checking that the file
// has them.
func (l *loader) read(n int64) ([]byte, error) {
	if n > l.size-l.off {
		return nil, l.corrupt(l.off, "%d bytes needed, %d left in the file", n, l.size-l.off)
	}
	if int64(cap(l.body)) < n {
		l.body = make([]byte, n)
	}
	b := l.body[:n]
	if _, err := io.ReadFull(l.r, b); err != nil {
		return nil, fmt.Errorf("snapshot: read %s at offset %d: %w", l.path, l.off, err)
	}
	l.sum = crc32.Update(l.sum, castagnoli, b)
	l.off += n
	return b, nil
}

// header reads and checks the file header and returns its segment.
func (l *loader) header() (uint64, error) {
	h, err := l.read(headerSize)
	if err != nil {
		return 0, err
	}
	switch {
	case string(h[:8]) != magic:
		return 0, l.corrupt(0, "not a metricsd snapshot (bad magic)")
	case crc(h[:24]) != binary.LittleEndian.Uint32(h[24:]):
		return 0, l.corrupt(0, "header checksum mismatch")
	case binary.LittleEndian.Uint32(h[8:]) != version:
		return 0, l.corrupt(8, "format version %d, this metricsd reads %d", binary.LittleEndian.Uint32(h[8:]), version)
	}
	return binary.LittleEndian.Uint64(h[16:]), nil
}

// records reads the records up to the end record and the trailer.
func (l *loader) records(fn LoadFunc) error {
	for {
		start := l.off
		hdr, err := l.read(wal.HeaderSize)
		if err != nil {
			return err
		}
		n := int64(binary.LittleEndian.Uint32(hdr))
		want := binary.LittleEndian.Uint32(hdr[4:])
		if n == 0 || n > wal.MaxBodySize {
			return l.corrupt(start, "record length %d", n)
		}
		body, err := l.read(n)
		if err != nil {
			return err
		}
		if crc(body) != want {
			return l.corrupt(start, "record checksum mismatch")
		}
		done, err := l.record(start, body, fn)
		if err != nil || done {
			return err
		}
	}
}

// record handles one record; done is set after the end record and a good
// trailer.
func (l *loader) record(start int64, body []byte, fn LoadFunc) (done bool, err error) {
	payload := body[1:]
	switch body[0] {
	case typeSeries:
		id, n := binary.Uvarint(payload)
		if n <= 0 {
			return false, l.corrupt(start, "series record without an id")
		}
		l.id, l.key, l.inSer = id, append(l.key[:0], payload[n:]...), true
		l.series++
		return false, nil
	case typePoints:
		return false, l.pointsRecord(start, payload, fn)
	case typeEnd:
		return true, l.end(start, payload)
	}
	return false, l.corrupt(start, "unknown record type %d", body[0])
}

// pointsRecord decodes a points record and hands its points to fn.
func (l *loader) pointsRecord(start int64, payload []byte, fn LoadFunc) error {
	id, n := binary.Uvarint(payload)
	if n <= 0 || !l.inSer || id != l.id {
		return l.corrupt(start, "points record not after its series record")
	}
	payload = payload[n:]
	l.pts = l.pts[:0]
	var ts int64
	for len(payload) > 0 {
		d, n := binary.Varint(payload)
		if n <= 0 || len(payload)-n < 8 {
			return l.corrupt(start, "truncated point in a points record")
		}
		ts += d
		l.pts = append(l.pts, store.Point{Timestamp: ts, Value: math.Float64frombits(binary.LittleEndian.Uint64(payload[n:]))})
		payload = payload[n+8:]
	}
	l.points += len(l.pts)
	if err := fn(id, l.key, l.pts); err != nil {
		return fmt.Errorf("snapshot: load %s at offset %d: %w", l.path, start, err)
	}
	return nil
}

// end checks the end record's counts and the trailing checksum, which must
// end the file.
func (l *loader) end(start int64, payload []byte) error {
	series, n := binary.Uvarint(payload)
	points, m := binary.Uvarint(payload[max(n, 0):])
	if n <= 0 || m <= 0 || series != uint64(l.series) || points != uint64(l.points) {
		return l.corrupt(start, "end record does not match the %d series and %d points read", l.series, l.points)
	}
	sum := l.sum
	trailer, err := l.read(4)
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(trailer) != sum {
		return l.corrupt(l.off-4, "file checksum mismatch")
	}
	if l.off != l.size {
		return l.corrupt(l.off, "%d bytes after the end of the snapshot", l.size-l.off)
	}
	return nil
}
