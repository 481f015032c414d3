package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"metricsd/internal/chunkenc"
	"metricsd/internal/wal"
)

// LoadFunc receives one series: its id, its key and its encoded chunks in
// ascending timestamp order. key and chunks are only valid during the
// call. An error stops Load; one that wraps ErrBadSnapshot (the series
// can't be what a snapshot holds) is reported as corruption at the
// series' offset.
type LoadFunc func(id uint64, key []byte, chunks [][]byte) error

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
	body []byte

	// The series being gathered: its chunks are views into arena, cut at
	// ends, made into slices only when the series is complete.
	inSer  bool
	at     int64 // offset of its series record
	id     uint64
	key    []byte
	arena  []byte
	ends   []int
	chunks [][]byte

	series, nchunks, points int
	lastID                  uint64 // from the end record, if it has one
}

// Load reads the snapshot at path and calls fn for each series, in file
// order. A damaged file is a *wal.CorruptionError with the offset of the
// damage; fn is not called for anything after it.
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
	return Info{Path: path, Segment: seg, Series: l.series, Chunks: l.nchunks, Points: l.points, Bytes: l.size, LastID: l.lastID}, nil
}

// corrupt returns the error for damage at off.
func (l *loader) corrupt(off int64, format string, args ...any) error {
	return &wal.CorruptionError{File: l.path, Offset: off, Err: fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))}
}

// read reads exactly n bytes, after checking that the file has them.
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
		if err := l.emit(fn); err != nil {
			return false, err
		}
		id, n := binary.Uvarint(payload)
		if n <= 0 {
			return false, l.corrupt(start, "series record without an id")
		}
		l.inSer, l.at, l.id = true, start, id
		l.key = append(l.key[:0], payload[n:]...)
		l.arena, l.ends = l.arena[:0], l.ends[:0]
		l.series++
		return false, nil
	case typeChunks:
		return false, l.chunksRecord(start, payload)
	case typeEnd:
		if err := l.emit(fn); err != nil {
			return false, err
		}
		return true, l.end(start, payload)
	}
	return false, l.corrupt(start, "unknown record type %d", body[0])
}

// chunksRecord gathers the chunks of a chunks record into the series.
func (l *loader) chunksRecord(start int64, payload []byte) error {
	id, n := binary.Uvarint(payload)
	if n <= 0 || !l.inSer || id != l.id {
		return l.corrupt(start, "chunks record not after its series record")
	}
	for payload = payload[n:]; len(payload) > 0; {
		size, n := binary.Uvarint(payload)
		if n <= 0 || size > uint64(len(payload)-n) {
			return l.corrupt(start, "chunk length past the end of its record")
		}
		c := payload[n : n+int(size)]
		_, points, err := chunkenc.Header(c)
		if err != nil {
			return l.corrupt(start, "%v", err)
		}
		l.arena = append(l.arena, c...)
		l.ends = append(l.ends, len(l.arena))
		l.nchunks++
		l.points += points
		payload = payload[n+int(size):]
	}
	return nil
}

// emit hands the gathered series, if any, to fn.
func (l *loader) emit(fn LoadFunc) error {
	if !l.inSer {
		return nil
	}
	l.inSer = false
	l.chunks = l.chunks[:0]
	from := 0
	for _, end := range l.ends {
		l.chunks = append(l.chunks, l.arena[from:end:end])
		from = end
	}
	if err := fn(l.id, l.key, l.chunks); err != nil {
		if errors.Is(err, ErrBadSnapshot) {
			return &wal.CorruptionError{File: l.path, Offset: l.at, Err: err}
		}
		return fmt.Errorf("snapshot: load %s at offset %d: %w", l.path, l.at, err)
	}
	return nil
}

// end checks the end record's counts and the trailing checksum, which must
// end the file.
func (l *loader) end(start int64, payload []byte) error {
	var counts [3]uint64
	for i := range counts {
		v, n := binary.Uvarint(payload)
		if n <= 0 {
			return l.corrupt(start, "short end record")
		}
		counts[i], payload = v, payload[n:]
	}
	if counts != [3]uint64{uint64(l.series), uint64(l.nchunks), uint64(l.points)} {
		return l.corrupt(start, "end record says %v series, chunks, points; the file has %d, %d, %d", counts, l.series, l.nchunks, l.points)
	}
	if len(payload) > 0 {
		v, n := binary.Uvarint(payload)
		if n != len(payload) {
			return l.corrupt(start, "malformed last series id in the end record")
		}
		l.lastID = v
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
