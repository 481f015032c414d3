package durable

import (
	"errors"
	"time"

	"metricsd/internal/store"
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

// writer is the one goroutine that owns the log file: it drains the
// pending batch, writes it with one write (and, under FsyncAlways, one
// fsync shared by every put in it: group commit), applies it to memory
// when the mode defers that, and wakes the waiters. It also fsyncs on the
// interval ticker and cuts segments for snapshots, so that nothing else
// touches the file.
func (e *Engine) writer() {
	defer close(e.writerDone)
	var tick <-chan time.Time
	if e.cfg.Fsync == FsyncInterval {
		t := time.NewTicker(e.cfg.FsyncInterval)
		defer t.Stop()
		tick = t.C
	}
	dirty := false // written since the last fsync
	// Without fsyncs to share, writes are spaced writeGap apart so that
	// many puts share one write system call.
	gap := time.NewTimer(0)
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
			dirty = e.flush() || dirty
			lastWrite = time.Now()
		case <-gapc:
			gapc = nil
			e.kicked.Store(false)
			dirty = e.flush() || dirty
			lastWrite = time.Now()
		case <-tick:
			if dirty {
				e.syncLog()
				dirty = false
			}
		case reply := <-e.cutc:
			e.flush()
			reply <- e.cut()
			dirty = false // a cut fsyncs the segment it closes
		case <-e.stop:
			e.flush()
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

// syncLog fsyncs the log for FsyncInterval.
func (e *Engine) syncLog() {
	if err := e.wal.Sync(); err != nil {
		e.fail(err)
	}
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
