package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrMissingSegment is wrapped by the error Replay returns when the
// segments are not contiguous from the one it was asked to start at.
var ErrMissingSegment = errors.New("wal: segment missing")

// ReplayFunc receives one record: its type and its payload, which is valid
// only during the call. An error that wraps ErrBadRecord makes Replay
// report the record's file and offset as corrupt; any other error stops
// Replay and is returned wrapped.
type ReplayFunc func(typ byte, payload []byte) error

// Replay reads the segments from index from on, in order, and calls fn for
// each record; segments before from are skipped (a snapshot covers them).
// A torn tail of the last segment (see Torn: an incomplete last frame or
// an all-zero tail) is truncated, logged, counted and fsynced; any other
// damage, a bad checksum in the very last frame included, is a
// *CorruptionError, and a gap in the numbering wraps ErrMissingSegment.
// Afterwards the log appends to its last segment, or to a new segment from
// when there is none.
func (l *Log) Replay(from uint64, fn ReplayFunc) error {
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	l.m.segments.Set(float64(len(segs)))
	for len(segs) > 0 && segs[0] < from {
		segs = segs[1:] // covered by a snapshot; RemoveBefore deletes them
	}
	if err := checkContiguous(l.dir, segs, from); err != nil {
		return err
	}
	if len(segs) == 0 {
		return l.create(from, true)
	}
	var buf []byte
	var size int64
	for i, seg := range segs {
		buf, err = readSegment(segmentPath(l.dir, seg), buf)
		if err != nil {
			return err
		}
		size, err = l.replaySegment(seg, buf, i == len(segs)-1, fn)
		if err != nil {
			return err
		}
	}
	return l.openForAppend(segs[len(segs)-1], size)
}

// MissingSegmentError says which segment of the log is not on disk: the
// log must run without a gap from the segment replay starts at to the
// last one. It wraps ErrMissingSegment.
type MissingSegmentError struct {
	Path string // the missing segment's path
	// Next is the segment found where Path was expected; HasNext is false
	// when no segment at all is at or after the expected one.
	Next    uint64
	HasNext bool
}

func (e *MissingSegmentError) Error() string {
	if !e.HasNext {
		return fmt.Sprintf("%v: %s is not on disk, and no later segment is", ErrMissingSegment, e.Path)
	}
	return fmt.Sprintf("%v: %s is not on disk (the next segment there is %s)", ErrMissingSegment, e.Path, SegmentName(e.Next))
}

func (e *MissingSegmentError) Unwrap() error { return ErrMissingSegment }

// checkContiguous verifies that segs, the segments of dir, run from first
// without a gap. When first is not 0 a snapshot covers the log before it,
// and segment first must exist: the cut that a snapshot follows creates it.
func checkContiguous(dir string, segs []uint64, first uint64) error {
	want := first
	for _, s := range segs {
		if s != want {
			return &MissingSegmentError{Path: segmentPath(dir, want), Next: s, HasNext: true}
		}
		want++
	}
	if len(segs) == 0 && first > 0 {
		return &MissingSegmentError{Path: segmentPath(dir, first)}
	}
	return nil
}

// readSegment reads the whole file at path into buf, reusing its capacity.
func readSegment(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wal: stat %s: %w", path, err)
	}
	if st.Size() > MaxSegmentSize {
		return nil, &CorruptionError{File: path, Offset: MaxSegmentSize, Err: fmt.Errorf("segment of %d bytes is larger than any segment metricsd writes", st.Size())}
	}
	if int64(cap(buf)) < st.Size() {
		buf = make([]byte, st.Size())
	}
	buf = buf[:st.Size()]
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("wal: read %s: %w", path, err)
	}
	return buf, nil
}

// replaySegment calls fn for every record of buf, the contents of segment
// seg, and returns the segment's good length.
func (l *Log) replaySegment(seg uint64, buf []byte, last bool, fn ReplayFunc) (int64, error) {
	path := segmentPath(l.dir, seg)
	off := 0
	for off < len(buf) {
		body, next, err := NextFrame(buf, off)
		if err != nil {
			if last && Torn(buf, off, err) {
				return int64(off), l.truncateTorn(path, off, len(buf)-off)
			}
			return 0, &CorruptionError{File: path, Offset: int64(off), Err: err}
		}
		if !knownType(body[0]) {
			return 0, &CorruptionError{File: path, Offset: int64(off), Err: fmt.Errorf("%w: unknown record type %d", ErrBadRecord, body[0])}
		}
		if err := fn(body[0], body[1:]); err != nil {
			if errors.Is(err, ErrBadRecord) {
				return 0, &CorruptionError{File: path, Offset: int64(off), Err: err}
			}
			return 0, fmt.Errorf("wal: replay %s at offset %d: %w", path, off, err)
		}
		off = next
	}
	return int64(off), nil
}

// truncateTorn cuts a torn tail of dropped bytes at off from the file at
// path and fsyncs it, so the next write follows the last good record.
func (l *Log) truncateTorn(path string, off, dropped int) error {
	f, err := l.opts.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: open %s to truncate its torn tail: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(int64(off)); err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s at offset %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wal: fsync %s after truncating its torn tail: %w", path, err)
	}
	l.m.tornRepairs.Inc()
	l.m.tornBytes.Add(float64(dropped))
	l.log.Warn("wal: truncated a torn tail (a write cut short by a crash)", "file", path, "offset", off, "bytes_dropped", dropped)
	return nil
}
