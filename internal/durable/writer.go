package durable

import (
	"errors"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// cutResult answers a cut request: the first segment after the cut.
type cutResult struct {
	seg uint64
	err error
}

// writer is the one goroutine that writes the log: it drains the pending
// batch, writes it with one write (and, under FsyncAlways, one fsync
// shared by every put in it: group commit), applies its puts to memory in
// log order, and wakes the waiters. Puts that arrive during a write form
// the next batch, so a batch of pipelined puts shares one write under
// every mode. It also cuts segments for snapshots, so that nothing else
// appends to the file. Under FsyncInterval and FsyncNever it never waits
// for an fsync: the log's own syncer does those, so a slow disk does not
// hold back the write that an acknowledgement waits for; when that syncer
// fails, the writer fails the engine.
func (e *Engine) writer() {
	defer close(e.writerDone)
	failed := e.wal.Failed()
	retry := time.NewTimer(0)
	retry.Stop()
	defer retry.Stop()
	var retryc <-chan time.Time
	backoff := retryMin
	for {
		if retryc == nil && e.isRetrying() {
			retry.Reset(backoff)
			retryc = retry.C
		}
		select {
		case <-failed:
			failed = nil
			e.fail(e.wal.Err())
		case <-retryc:
			retryc = nil
			if e.probe() {
				backoff = retryMin
			} else {
				backoff = min(2*backoff, retryMax)
			}
		case <-e.wake:
			e.kicked.Store(false)
			e.flush()
		case reply := <-e.cutc:
			e.flush()
			reply <- e.cut()
		case <-e.stop:
			e.flush()
			return
		}
	}
}

// The writer's retry backoff after a failed write: from retryMin, doubling
// up to retryMax, so that a disk that has room again is used within a
// second or two, and a dead one costs a write system call a few times a
// second.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 2 * time.Second
)

// isRetrying reports whether the engine is in a retryable failure.
func (e *Engine) isRetrying() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failErr != nil && e.retryable
}

// probe tries to write the series records of the series whose records a
// failed write lost, or, with none, the newest series' record again (a
// series record met twice is harmless), and ends the failure if the log
// takes it. With no series at all there is nothing to lose: the failure
// ends, and the next put's write tells.
func (e *Engine) probe() bool {
	recs := wal.NewBatch(4<<10, wal.MaxPointsBody(e.cfg.SegmentSize))
	e.mu.Lock()
	relogged := make([]uint64, 0, len(e.unlogged))
	for id, ref := range e.unlogged {
		recs.AddSeries(id, ref.Key())
		relogged = append(relogged, id)
	}
	e.mu.Unlock()
	if len(relogged) == 0 {
		if ref, ok := e.mem.LastRef(); ok {
			recs.AddSeries(ref.ID(), ref.Key())
		}
	}
	if recs.Len() > 0 {
		if err := e.wal.Write(recs.Bytes()); err != nil {
			if !errors.Is(err, wal.ErrNotWritten) {
				e.fail(err) // now only a restart helps
			}
			return false
		}
	}
	e.mu.Lock()
	for _, id := range relogged {
		delete(e.unlogged, id)
	}
	e.mu.Unlock()
	e.recovered()
	return true
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
		e.abandon(b)
		e.finish(b, failed)
		return false
	}
	frames := b.recs.Bytes()
	if err := e.wal.Write(frames); err != nil {
		e.fail(err)
		e.abandon(b)
		e.finish(b, e.failure())
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

// abandon notes that b will never be written: the series it would have
// named log their records again with their next point.
func (e *Engine) abandon(b *batch) {
	if len(b.created) == 0 {
		return
	}
	e.mu.Lock()
	for _, ref := range b.created {
		e.unlogged[ref.ID()] = ref
	}
	e.mu.Unlock()
}

// failure returns the engine's failure (wrapping ErrFailed), or nil.
func (e *Engine) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failErr
}

// apply puts a committed batch's deferred puts into memory, in log order.
// A put that memory refuses (a store limit) fails alone: replay refuses it
// the same way.
func (e *Engine) apply(b *batch) {
	for i, o := range b.ops {
		if o.del {
			continue // memory dropped the series when the tombstone was logged
		}
		if err := e.mem.PutRef(o.ref, o.p); err != nil {
			b.commit.Refuse(i, err)
		}
	}
}

// finish completes b with err, wakes its waiters, and keeps its buffers
// for the next batch (the waiters only read the commit).
func (e *Engine) finish(b *batch, err error) {
	b.commit.Done(err)
	b.recs.Reset()
	clear(b.ops) // no references to series kept in the spare
	e.spare, e.spareOps = b.recs, b.ops[:0]
	b.recs, b.ops, b.created = nil, nil, nil
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
