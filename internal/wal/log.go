package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
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
	// DefaultSyncInterval is Options.SyncInterval's default.
	DefaultSyncInterval = time.Second
)

// SyncPolicy is when the log fsyncs what it has written. Under every
// policy Write returns once the frames are written to the operating system
// (write(2) returned), so a crash of the process alone loses nothing
// written; the policy decides what a crash of the machine can lose. A
// segment the log moves on from is always fsynced before it is closed, so
// that only the last segment can end in a torn record.
type SyncPolicy uint8

// The sync policies. The zero value is SyncAlways, the safe default for a
// library; metricsd's own default (--fsync interval) is chosen by its
// configuration.
const (
	// SyncAlways fsyncs in Write, before it returns: a machine crash loses
	// nothing Write returned.
	SyncAlways SyncPolicy = iota
	// SyncInterval fsyncs the current segment every Options.SyncInterval
	// when something was written since the last fsync, on the log's own
	// goroutine: a machine crash loses at most that interval.
	SyncInterval
	// SyncNever leaves flushing the current segment to the operating system.
	SyncNever
)

var syncNames = [...]string{SyncAlways: "always", SyncInterval: "interval", SyncNever: "never"}

// String is the policy's name, as --fsync spells it, for logs.
func (p SyncPolicy) String() string {
	if int(p) < len(syncNames) {
		return syncNames[p]
	}
	return fmt.Sprintf("SyncPolicy(%d)", p)
}

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
	// Sync is when the log fsyncs (see SyncPolicy).
	Sync SyncPolicy
	// SyncInterval is the longest time between fsyncs under SyncInterval;
	// 0 means DefaultSyncInterval.
	SyncInterval time.Duration
}

// Log is the write-ahead log of one directory: numbered segment files of
// frames. Replay must be called once before the first Write; after that a
// Log is driven by a single goroutine (Write, Cut, Close), except for
// RemoveBefore, Err and Failed, which may run beside it.
//
// The log owns its fsyncs: under SyncInterval and SyncNever its syncer
// goroutine (started by the first Write, stopped by Close) fsyncs the
// current segment every SyncInterval and fsyncs and closes each segment
// the log moves on from, in order, so that a slow fsync never stalls
// Write. A failure there is sticky: Err returns it, Failed is closed, and
// every later Write returns it.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger
	m    *metrics

	fmu  sync.Mutex // guards f and cur against the syncer
	f    File       // current segment, open for appending
	cur  uint64     // index of the current segment
	size int64      // bytes in the current segment

	written  atomic.Int64 // bytes written, for the syncer
	syncing  bool         // the syncer runs (writing goroutine only)
	handoffs chan segmentFile
	stop     chan struct{}
	stopped  chan struct{}
	failOnce sync.Once
	failed   chan struct{} // closed when failErr is set
	failErr  error
}

// segmentFile is a segment the log has moved on from, for the syncer to
// fsync and close.
type segmentFile struct {
	f     File
	index uint64
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
	if opts.SyncInterval == 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.Sync > SyncNever || opts.SyncInterval < 0 {
		return nil, fmt.Errorf("wal: sync policy %d every %v: unknown policy or negative interval", opts.Sync, opts.SyncInterval)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	return &Log{
		dir: dir, opts: opts, log: log, m: m,
		handoffs: make(chan segmentFile, 64),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		failed:   make(chan struct{}),
	}, nil
}

// Err returns the first failure of the syncer, or nil.
func (l *Log) Err() error {
	select {
	case <-l.failed:
		return l.failErr
	default:
		return nil
	}
}

// Failed is closed when the syncer fails (see Err), so that the log's user
// can stop taking writes without waiting for the next one.
func (l *Log) Failed() <-chan struct{} { return l.failed }

// setFailed records the syncer's first failure.
func (l *Log) setFailed(err error) {
	l.failOnce.Do(func() {
		l.failErr = err
		close(l.failed)
	})
}

// Write appends frames (whole frames only) to the log, cutting to a new
// segment where the next frame would not fit, and returns once they are
// written to the operating system and, under SyncAlways, fsynced. If
// anything fails, the log is rolled back to where it was before the call,
// so that nothing of frames is left to be replayed; the error says whether
// that rollback failed too. After a failure of the syncer every Write
// returns it.
func (l *Log) Write(frames []byte) error {
	if err := l.Err(); err != nil {
		return err
	}
	if !l.syncing && l.opts.Sync != SyncAlways {
		l.syncing = true
		go l.syncer()
	}
	startSeg, startSize := l.cur, l.size
	err := l.append(frames)
	if err == nil && l.opts.Sync == SyncAlways {
		err = l.syncSegment(l.f, l.cur)
	}
	if err != nil {
		if rerr := l.rollback(startSeg, startSize); rerr != nil {
			return fmt.Errorf("%w; rolling the log back failed too: %v", err, rerr)
		}
		return fmt.Errorf("%w: %w", ErrNotWritten, err)
	}
	return nil
}

// ErrNotWritten is wrapped by a Write error after which the log was rolled
// back cleanly (truncated and fsynced to where it was before the call):
// nothing of that write is in the log, everything before it is as it was,
// and a later Write may succeed (a disk that was full has room again). A
// Write error without it (the rollback failed too, or the syncer's fsync
// failed earlier) leaves the log in a state only a restart can establish.
var ErrNotWritten = errors.New("wal: write not done")

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
		l.written.Add(int64(n))
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

// syncer is the log's fsync goroutine under SyncInterval and SyncNever
// (see Log). It ends when Close stops it, after finishing every segment
// handed to it.
func (l *Log) syncer() {
	defer close(l.stopped)
	var tick <-chan time.Time
	if l.opts.Sync == SyncInterval {
		t := time.NewTicker(l.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	var synced int64 // l.written as of the last fsync
	for {
		select {
		case s := <-l.handoffs:
			l.finishHandOff(s)
		case <-tick:
			l.drainHandOffs() // older segments first
			if w := l.written.Load(); w != synced && l.Err() == nil {
				f, index := l.current()
				if err := l.syncSegment(f, index); err != nil {
					l.setFailed(err)
				}
				synced = w
			}
		case <-l.stop:
			l.drainHandOffs()
			return
		}
	}
}

// finishHandOff fsyncs and closes a segment the log moved on from.
func (l *Log) finishHandOff(s segmentFile) {
	if err := l.finishSegment(s.f, s.index); err != nil {
		l.setFailed(err)
	}
}

// drainHandOffs finishes the segments waiting for the syncer.
func (l *Log) drainHandOffs() {
	for {
		select {
		case s := <-l.handoffs:
			l.finishHandOff(s)
		default:
			return
		}
	}
}

// current returns the segment being appended to and its index, for the
// syncer.
func (l *Log) current() (File, uint64) {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	return l.f, l.cur
}

// syncSegment fsyncs f, the file of segment index, timing it.
func (l *Log) syncSegment(f File, index uint64) error {
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
// is fsynced even under SyncNever (here under SyncAlways, by the syncer
// otherwise), so that only the last segment can hold a torn record.
func (l *Log) cut() error {
	if l.syncing {
		old, index := l.f, l.cur
		if err := l.create(l.cur+1, false); err != nil {
			return err
		}
		l.handoffs <- segmentFile{old, index}
		return nil
	}
	if err := l.finishSegment(l.f, l.cur); err != nil {
		return err
	}
	return l.create(l.cur+1, true)
}

// finishSegment fsyncs and closes f, the file of segment index, and fsyncs
// the directory, which makes the creation of the segment after it durable
// too.
func (l *Log) finishSegment(f File, index uint64) error {
	if err := l.syncSegment(f, index); err != nil {
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
// entry durable at once (otherwise finishSegment of the previous segment
// does).
func (l *Log) create(index uint64, syncDir bool) error {
	f, err := l.opts.OpenFile(segmentPath(l.dir, index), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
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

// Close stops the syncer (which first finishes the segments handed to
// it), then fsyncs and closes the current segment. It returns the
// syncer's failure, if there was one.
func (l *Log) Close() error {
	if l.syncing {
		close(l.stop)
		<-l.stopped
		l.syncing = false
	}
	if l.f == nil {
		return l.Err()
	}
	err := l.Err()
	if serr := l.syncSegment(l.f, l.cur); err == nil {
		err = serr
	}
	if cerr := l.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wal: close segment %s: %w", SegmentName(l.cur), cerr)
	}
	l.setCurrent(nil, l.cur, 0)
	return err
}
