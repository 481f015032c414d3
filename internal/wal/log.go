package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultSegmentSize = 64 << 20
	// MaxSegmentSize bounds SegmentSize: recovery reads one segment into
	// memory at a time.
	MaxSegmentSize = 1 << 30
	// minSegmentSize keeps room for a few records; tests use small sizes to
	// cross segment boundaries often.
	minSegmentSize = 256
	// DefaultSlowSync is the fsync duration above which a warning is logged.
	DefaultSlowSync = time.Second
)

// Options configure a Log.
type Options struct {
	// SegmentSize bounds a segment file's bytes; no record crosses a
	// segment boundary. 0 means DefaultSegmentSize.
	SegmentSize int64
	// OpenFile opens segment files; nil means OpenOS. Tests inject faults
	// through it.
	OpenFile OpenFileFunc
	// Logger receives repairs and slow fsyncs; nil discards them.
	Logger *slog.Logger
	// Registerer, if not nil, gets the log's metrics.
	Registerer prometheus.Registerer
	// SlowSync is the fsync duration that is logged as slow; 0 means
	// DefaultSlowSync.
	SlowSync time.Duration
	// HandOff, if set, receives each segment the log moves on from, open
	// and not yet fsynced: the caller must fsync and close it (see
	// SyncSegment), in the order received. Without it the log fsyncs and
	// closes a segment itself before it starts the next, which stalls the
	// writing goroutine for an fsync.
	HandOff func(f File, index uint64)
}

// Log is the write-ahead log of one directory: numbered segment files of
// frames. Replay must be called once before the first Write; after that a
// Log is driven by a single goroutine (Write, Sync, Cut, Close), except for
// RemoveBefore, which may run beside it.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger
	m    *metrics

	fmu  sync.Mutex // guards f and cur against Current
	f    File       // current segment, open for appending
	cur  uint64     // index of the current segment
	size int64      // bytes in the current segment
}

// Open returns the log in dir, creating the directory if needed. It reads
// nothing yet: call Replay.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.SegmentSize < minSegmentSize || opts.SegmentSize > MaxSegmentSize {
		return nil, fmt.Errorf("wal: segment size %d must be between %d and %d", opts.SegmentSize, minSegmentSize, MaxSegmentSize)
	}
	if opts.OpenFile == nil {
		opts.OpenFile = OpenOS
	}
	if opts.SlowSync == 0 {
		opts.SlowSync = DefaultSlowSync
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	return &Log{dir: dir, opts: opts, log: log, m: m}, nil
}

// Write appends frames (whole frames only) to the log, cutting to a new
// segment where the next frame would not fit, and fsyncs when sync is set.
// If anything fails, the log is rolled back to where it was before the
// call, so that nothing of frames is left to be replayed; the error says
// whether that rollback failed too.
func (l *Log) Write(frames []byte, sync bool) error {
	startSeg, startSize := l.cur, l.size
	err := l.append(frames)
	if err == nil && sync {
		err = l.Sync()
	}
	if err != nil {
		if rerr := l.rollback(startSeg, startSize); rerr != nil {
			return fmt.Errorf("%w; rolling the log back failed too: %v", err, rerr)
		}
		return err
	}
	return nil
}

// append writes frames, cutting segments where needed.
func (l *Log) append(frames []byte) error {
	for len(frames) > 0 {
		n := fitFrames(frames, l.opts.SegmentSize-l.size)
		if n == 0 {
			if l.size == 0 {
				return fmt.Errorf("wal: a record of %d bytes does not fit a segment of %d", len(frames), l.opts.SegmentSize)
			}
			if err := l.cut(); err != nil {
				return err
			}
			continue
		}
		w, err := l.f.Write(frames[:n])
		if err == nil && w < n {
			err = io.ErrShortWrite
		}
		if err != nil {
			return fmt.Errorf("wal: write segment %s: %w", SegmentName(l.cur), err)
		}
		l.size += int64(n)
		l.m.bytes.Add(float64(n))
		frames = frames[n:]
	}
	return nil
}

// fitFrames returns the length of the longest prefix of whole frames in
// frames that fits in room bytes.
func fitFrames(frames []byte, room int64) int {
	if int64(len(frames)) <= room {
		return len(frames)
	}
	n := 0
	for len(frames)-n >= HeaderSize {
		next := n + HeaderSize + int(binary.LittleEndian.Uint32(frames[n:]))
		if int64(next) > room {
			break
		}
		n = next
	}
	return n
}

// Sync fsyncs the current segment.
func (l *Log) Sync() error { return l.SyncSegment(l.f, l.cur) }

// Current returns the segment being appended to and its index. It is safe
// to call beside the writing goroutine, so that another goroutine can
// fsync the segment (SyncSegment) while writes go on.
func (l *Log) Current() (File, uint64) {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	return l.f, l.cur
}

// SyncSegment fsyncs f, the file of segment index, timing it.
func (l *Log) SyncSegment(f File, index uint64) error {
	start := time.Now()
	err := f.Sync()
	d := time.Since(start)
	l.m.fsync.Observe(d.Seconds())
	if d >= l.opts.SlowSync {
		l.log.Warn("wal: slow fsync", "segment", SegmentName(index), "duration", d)
	}
	if err != nil {
		return fmt.Errorf("wal: fsync segment %s: %w", SegmentName(index), err)
	}
	return nil
}

// setCurrent makes f, segment index of size bytes, the current segment.
func (l *Log) setCurrent(f File, index uint64, size int64) {
	l.fmu.Lock()
	l.f, l.cur, l.size = f, index, size
	l.fmu.Unlock()
}

// Cut makes later writes go to a new segment, so that everything written
// so far is in segments before the returned index, and returns that index.
// It cuts nothing when the current segment is still empty.
func (l *Log) Cut() (uint64, error) {
	if l.size == 0 {
		return l.cur, nil
	}
	if err := l.cut(); err != nil {
		return 0, err
	}
	return l.cur, nil
}

// cut finishes the current segment and creates the next. The old segment
// is fsynced even under --fsync=never (here, or by whoever HandOff gives
// it to), so that only the last segment can hold a torn record.
func (l *Log) cut() error {
	if l.opts.HandOff != nil {
		old, index := l.f, l.cur
		if err := l.create(l.cur+1, false); err != nil {
			return err
		}
		l.opts.HandOff(old, index)
		return nil
	}
	if err := l.FinishSegment(l.f, l.cur); err != nil {
		return err
	}
	return l.create(l.cur+1, true)
}

// FinishSegment fsyncs and closes f, the file of segment index, and fsyncs
// the directory, which makes the creation of the segment after it durable
// too. It is what a HandOff receiver does with each segment.
func (l *Log) FinishSegment(f File, index uint64) error {
	if err := l.SyncSegment(f, index); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("wal: close segment %s: %w", SegmentName(index), err)
	}
	if err := SyncDir(l.dir); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

// create makes segment index the current one; syncDir makes its directory
// entry durable at once (otherwise FinishSegment of the previous segment
// does).
func (l *Log) create(index uint64, syncDir bool) error {
	f, err := l.opts.OpenFile(segmentPath(l.dir, index), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("wal: create segment %s: %w", SegmentName(index), err)
	}
	if syncDir {
		if err := SyncDir(l.dir); err != nil {
			f.Close()
			return fmt.Errorf("wal: %w", err)
		}
	}
	l.setCurrent(f, index, 0)
	l.m.segments.Inc()
	return nil
}

// openForAppend makes the existing segment index, of size bytes, the
// current one.
func (l *Log) openForAppend(index uint64, size int64) error {
	f, err := l.opts.OpenFile(segmentPath(l.dir, index), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("wal: open segment %s: %w", SegmentName(index), err)
	}
	l.setCurrent(f, index, size)
	return nil
}

// rollback removes segments created after segment seg and truncates seg
// back to size, then fsyncs it, so that a failed write leaves no record
// behind that a restart would replay.
func (l *Log) rollback(seg uint64, size int64) error {
	var errs []error
	if l.cur != seg {
		if err := l.f.Close(); err != nil {
			errs = append(errs, err)
		}
		for i := l.cur; i > seg; i-- {
			if err := os.Remove(segmentPath(l.dir, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			l.m.segments.Dec()
		}
		if err := l.openForAppend(seg, size); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if err := l.f.Truncate(size); err != nil {
		errs = append(errs, fmt.Errorf("truncate segment %s to %d: %w", SegmentName(seg), size, err))
	} else if err := l.f.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("fsync segment %s: %w", SegmentName(seg), err))
	}
	l.size = size
	return errors.Join(errs...)
}

// RemoveBefore deletes the segments before index, which a snapshot covers.
// index must not be above the index Cut returned. It is safe to call
// beside the writing goroutine, which only touches later segments.
func (l *Log) RemoveBefore(index uint64) error {
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	removed := false
	for _, i := range segs {
		if i >= index {
			break
		}
		if err := os.Remove(segmentPath(l.dir, i)); err != nil {
			return fmt.Errorf("wal: remove segment %s: %w", SegmentName(i), err)
		}
		l.m.segments.Dec()
		removed = true
	}
	if removed {
		if err := SyncDir(l.dir); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
	}
	return nil
}

// Close fsyncs and closes the current segment.
func (l *Log) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.Sync()
	if cerr := l.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wal: close segment %s: %w", SegmentName(l.cur), cerr)
	}
	l.setCurrent(nil, l.cur, 0)
	return err
}
