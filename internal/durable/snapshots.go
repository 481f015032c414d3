package durable

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"metricsd/internal/snapshot"
	"metricsd/internal/wal"
)

// snapshotter writes a snapshot every SnapshotInterval, and when the
// writer reports that the log grew by SnapshotWALBytes, if anything was
// logged since the last one.
func (e *Engine) snapshotter() {
	defer close(e.snapperDone)
	var tick <-chan time.Time
	if e.cfg.SnapshotInterval > 0 {
		t := time.NewTicker(e.cfg.SnapshotInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
		case <-e.snapNow:
		case <-e.stop:
			return
		}
		if err := e.snapshot(e.requestCut); err != nil && !errors.Is(err, ErrClosed) {
			e.log.Error("snapshot failed; the write-ahead log keeps everything until the next one succeeds", "err", err)
		}
	}
}

// Snapshot writes a snapshot now (if anything was logged since the last
// one) and deletes the log segments and older snapshots it covers.
func (e *Engine) Snapshot() error {
	e.mu.Lock()
	st := e.state
	e.mu.Unlock()
	if st != stateReady {
		return ErrClosed
	}
	return e.snapshot(e.requestCut)
}

// snapshot cuts the log with cut, dumps memory into a snapshot that covers
// the segments before the cut, and then deletes them. Puts go on during
// the dump: a point logged after the cut may or may not be in the
// snapshot, and is replayed from the log either way, which gives the same
// result because replay applies every put after the cut again, in order.
func (e *Engine) snapshot(cut func() (uint64, error)) error {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	if e.walBytes.Load() == 0 {
		return nil // nothing new since the last snapshot
	}
	e.mu.Lock()
	failed := e.failErr
	e.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("durable: no snapshot of a failed engine: %w", failed)
	}
	start := time.Now()
	seg, err := cut()
	if err != nil {
		return err
	}
	e.walBytes.Store(0)
	info, err := e.writeSnapshot(seg)
	if err != nil {
		e.m.snapFailures.Inc()
		e.walBytes.Store(1) // try again next time
		return err
	}
	if err := e.trust(seg, info); err != nil {
		e.walBytes.Store(1) // try again next time
		return err
	}
	d := time.Since(start)
	e.m.snapDuration.Observe(d.Seconds())
	e.m.snapSize.Set(float64(info.Bytes))
	e.m.snapLast.SetToCurrentTime()
	e.log.Info("snapshot written", "file", info.Path, "series", info.Series, "points", info.Points,
		"bytes", info.Bytes, "duration", d.Round(time.Millisecond))
	return nil
}

// writeSnapshot dumps memory, in first-insertion order, into the snapshot
// covering the log before seg: each series under its log id, with its
// chunks as memory holds them, under memory's own IDs.
func (e *Engine) writeSnapshot(seg uint64) (snapshot.Info, error) {
	// Segment seg must be on disk whenever the snapshot is: the cut may
	// have left its directory entry to a later fsync.
	if err := wal.SyncDir(filepath.Join(e.cfg.Dir, walDir)); err != nil {
		return snapshot.Info{}, fmt.Errorf("durable: %w", err)
	}
	w, err := snapshot.Create(e.cfg.Dir, seg)
	if err != nil {
		return snapshot.Info{}, err
	}
	err = e.mem.Snapshot(w.Add)
	if err != nil {
		w.Abort()
		return snapshot.Info{}, err
	}
	w.SetLastID(e.mem.LastID()) // a deleted series' id is never given again
	return w.Commit()
}

// dropCovered deletes the segments and snapshots before seg, which the
// snapshot before the newest covers (see trust).
func (e *Engine) dropCovered(seg uint64) error {
	if err := e.wal.RemoveBefore(seg); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := snapshot.RemoveBefore(e.cfg.Dir, seg); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := wal.SyncDir(e.cfg.Dir); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	return nil
}

// Close stops taking puts, commits what is pending, writes a final
// snapshot (unless the engine failed or nothing changed), closes the log
// and releases the data directory. Calling it again returns nil. Get and
// All keep answering from memory.
func (e *Engine) Close() error {
	e.mu.Lock()
	switch e.state {
	case stateClosing, stateClosed:
		e.mu.Unlock()
		return nil
	case stateNew, stateBroken:
		e.state = stateClosed
		e.setRefuse(ErrClosed)
		err := e.release()
		e.mu.Unlock()
		return err
	}
	e.state = stateClosing
	e.setRefuse(ErrClosed)
	e.room.Broadcast()
	e.mu.Unlock()
	e.mem.Close() // the retention loop

	close(e.stop)
	<-e.snapperDone
	<-e.writerDone
	var errs []error
	if err := e.snapshot(e.wal.Cut); err != nil {
		errs = append(errs, fmt.Errorf("durable: final snapshot: %w", err))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	errs = append(errs, e.release())
	e.state = stateClosed
	return errors.Join(errs...)
}
