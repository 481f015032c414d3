package durable

import (
	"errors"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// writeGap is the least time between two writes of the log under
// FsyncInterval and FsyncNever: at most a thousand write system calls a
// second, each carrying what arrived meanwhile. A crash of the process
// can lose the puts of the last gap, well inside what those modes risk.
const writeGap = time.Millisecond

// cutResult answers a cut request: the first segment after the cut.
type cutResult struct {
	seg uint64
	err error
}

// writer is the one goroutine that writes the log: it drains the pending
// batch, writes it with one write (and, under FsyncAlways, one fsync
// shared by every put in it: group commit), applies it to memory when the
// mode defers that, and wakes the waiters. It also cuts segments for
// snapshots, so that nothing else appends to the file. Under FsyncInterval
// and FsyncNever it never waits for an fsync: the syncer does those, so a
// slow disk does not leave acknowledged puts unwritten behind it.
func (e *Engine) writer() {
	defer close(e.writerDone)
	// Without fsyncs to share, writes are spaced writeGap apart so that
	// many puts share one write system call.
	gap := time.NewTimer(writeGap)
	gap.Stop()
	defer gap.Stop()
	var gapc <-chan time.Time
	var lastWrite time.Time
	for {
		select {
		case <-e.wake:
			if e.cfg.Fsync == FsyncAlways {
				e.kicked.Store(false)
				e.flush()
				continue
			}
			if wait := writeGap - time.Since(lastWrite); wait > 0 {
				if gapc == nil {
					gap.Reset(wait)
					gapc = gap.C
				}
				continue
			}
			e.kicked.Store(false)
			e.flush()
			lastWrite = time.Now()
		case <-gapc:
			gapc = nil
			e.kicked.Store(false)
			e.flush()
			lastWrite = time.Now()
		case reply := <-e.cutc:
			e.flush()
			reply <- e.cut()
		case <-e.stop:
			e.flush()
			return
		}
	}
}

// syncer does the fsyncs of FsyncInterval and FsyncNever beside the
// writer: it finishes (fsyncs and closes) each segment the writer moves on
// from, in order, and under FsyncInterval fsyncs the current segment every
// FsyncInterval when something was written since the last time. It ends
// after the writer, once it has finished every segment handed to it.
func (e *Engine) syncer() {
	defer close(e.syncerDone)
	var tick <-chan time.Time
	if e.cfg.Fsync == FsyncInterval {
		t := time.NewTicker(e.cfg.FsyncInterval)
		defer t.Stop()
		tick = t.C
	}
	var synced int64 // e.written as of the last fsync
	for {
		select {
		case s := <-e.handoffs:
			e.finishSegment(s)
		case <-tick:
			e.drainHandoffs() // older segments first
			if w := e.written.Load(); w != synced {
				f, index := e.wal.Current()
				if err := e.wal.SyncSegment(f, index); err != nil {
					e.fail(err)
				}
				synced = w
			}
		case <-e.writerDone:
			e.drainHandoffs()
			e.inlineHandOff.Store(true)
			return
		}
	}
}

// segmentFile is a segment the log has moved on from, to be finished.
type segmentFile struct {
	f     wal.File
	index uint64
}

// handOff is the log's HandOff under FsyncInterval and FsyncNever: the
// syncer finishes the segment, or the caller itself once the syncer has
// stopped (the cut of the final snapshot).
func (e *Engine) handOff(f wal.File, index uint64) {
	if e.inlineHandOff.Load() {
		e.finishSegment(segmentFile{f, index})
		return
	}
	e.handoffs <- segmentFile{f, index}
}

// finishSegment fsyncs and closes a segment the log moved on from.
func (e *Engine) finishSegment(s segmentFile) {
	if err := e.wal.FinishSegment(s.f, s.index); err != nil {
		e.fail(err)
	}
}

// drainHandoffs finishes the segments waiting in e.handoffs.
func (e *Engine) drainHandoffs() {
	for {
		select {
		case s := <-e.handoffs:
			e.finishSegment(s)
		default:
			return
		}
	}
}

// flush commits the pending batch, if any, and reports whether it wrote.
func (e *Engine) flush() bool {
	e.mu.Lock()
	b := e.cur
	if b.recs.Len() == 0 {
		e.mu.Unlock()
		return false
	}
	e.cur = e.newBatch()
	e.pending.Store(0)
	failed := e.failErr
	e.room.Broadcast()
	e.mu.Unlock()

	if failed != nil {
		e.finish(b, failed)
		return false
	}
	frames := b.recs.Bytes()
	if err := e.wal.Write(frames, e.cfg.Fsync == FsyncAlways); err != nil {
		e.fail(err)
		e.finish(b, err)
		return false
	}
	e.written.Add(int64(len(frames)))
	e.m.points.Add(float64(b.recs.Points()))
	if n := e.walBytes.Add(int64(len(frames))); e.cfg.SnapshotWALBytes > 0 && n >= e.cfg.SnapshotWALBytes {
		select {
		case e.snapNow <- struct{}{}:
		default:
		}
	}
	e.apply(b)
	e.finish(b, nil)
	return true
}

// apply puts a committed batch's deferred puts into memory, in log order.
// A put that memory refuses (a store limit) fails alone: replay refuses it
// the same way.
func (e *Engine) apply(b *batch) {
	for i, o := range b.ops {
		if o.del {
			e.mem.Unlink(o.key)
			continue
		}
		if err := e.mem.Put(o.key, o.p); err != nil {
			if b.errs == nil {
				b.errs = make(map[int]error)
			}
			b.errs[i] = err
		}
	}
}

// finish completes b with err, wakes its waiters, and keeps its buffers
// for the next batch (the waiters only read done, err and errs).
func (e *Engine) finish(b *batch, err error) {
	b.err = err
	if b.done != nil {
		close(b.done)
	}
	b.recs.Reset()
	e.spare, e.spareOps = b.recs, b.ops[:0]
	b.recs, b.ops = nil, nil
}

// cut starts a new segment, so that everything logged and applied so far
// is in the segments before the one returned.
func (e *Engine) cut() cutResult {
	e.mu.Lock()
	failed := e.failErr
	e.mu.Unlock()
	if failed != nil {
		return cutResult{err: failed}
	}
	seg, err := e.wal.Cut()
	if err != nil {
		e.fail(err)
	}
	return cutResult{seg: seg, err: err}
}

// requestCut asks the writer for a cut; it fails with ErrClosed once the
// writer has stopped.
func (e *Engine) requestCut() (uint64, error) {
	reply := make(chan cutResult, 1)
	select {
	case e.cutc <- reply:
	case <-e.writerDone:
		return 0, ErrClosed
	}
	r := <-reply
	return r.seg, r.err
}

// isLimit reports whether memory refused a put because of a store limit,
// which is not a failure of the engine.
func isLimit(err error) bool { return errors.Is(err, store.ErrLimit) }
