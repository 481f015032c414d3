package durable

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"metricsd/internal/chunkenc"
	"metricsd/internal/snapshot"
	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// walDir is the log's directory inside the data directory.
const walDir = "wal"

// lockName is the file in the data directory that holds the flock.
const lockName = "LOCK"

// Start takes the data directory's lock, loads the newest snapshot that
// reads back whole (falling back to the one before it when the newest is
// damaged, see fallback.go), replays the log after it, and starts serving
// puts. Damage that a crash cannot explain (a record with a bad checksum
// anywhere, a missing segment or snapshot) stops it with a *DamageError
// that names the file and offset; only a torn tail is repaired. Cancelling
// ctx stops a long recovery.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.state != stateNew {
		e.mu.Unlock()
		return errors.New("durable: Start called twice")
	}
	e.state = stateReplaying
	e.mu.Unlock()
	err := e.recover(ctx)
	if err == nil {
		// The retention loop (its first pass walks every series: not under
		// e.mu, which Ready takes); memory has nothing to recover.
		e.mem.Start(ctx)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.state, e.startErr = stateBroken, err
		e.setRefuse(ErrClosed)
		e.release()
		return err
	}
	e.state = stateReady
	e.setRefuse(nil)
	go e.writer()
	go e.snapshotter()
	return nil
}

// recover does Start's work.
func (e *Engine) recover(ctx context.Context) error {
	dir := e.cfg.Dir
	// The directory is private (0700, its files 0600): the points are the
	// users' data. PostgreSQL refuses a group- or world-readable data
	// directory; metricsd warns, so that an existing setup keeps working.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("durable: create data directory %s: %w", dir, err)
	}
	if info, err := os.Stat(dir); err != nil {
		return fmt.Errorf("durable: data directory: %w", err)
	} else if perm := info.Mode().Perm(); perm&0o077 != 0 {
		e.log.Warn("the data directory is readable or writable by group or others; run chmod 700 on it", "data_dir", dir, "mode", fmt.Sprintf("%04o", perm))
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	e.lock = lock
	if err := snapshot.RemoveTemp(dir); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	start := time.Now()
	p := newProgress(ctx, e)
	from, passed, err := e.loadSnapshot(p)
	if err != nil {
		return err
	}
	// The snapshot may hold points that expired since it was written: they
	// go before the log replays, so that they take no room under
	// MaxPoints that the replayed puts had.
	if _, err := e.mem.DropExpired(); err != nil {
		return fmt.Errorf("durable: drop expired points of the snapshot: %w", err)
	}
	opts := wal.Options{
		SegmentSize:  e.cfg.SegmentSize,
		OpenFile:     e.cfg.OpenFile,
		Logger:       e.log,
		Registerer:   e.cfg.Registerer,
		Sync:         e.cfg.Fsync,
		SyncInterval: e.cfg.FsyncInterval,
	}
	e.wal, err = wal.Open(filepath.Join(dir, walDir), opts)
	if err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := e.wal.Replay(from, p.record); err != nil {
		return damaged(dir, fmt.Errorf("durable: replay the write-ahead log: %w", err))
	}
	e.walBytes.Store(p.walBytes)
	if err := setAside(dir, passed); err != nil {
		return err
	}
	// Leftovers of a crash between a snapshot and its cleanup; the snapshot
	// before the one loaded and the log since it stay (see fallback.go).
	keep, err := retained(dir, from)
	if err != nil {
		return err
	}
	if err := e.wal.RemoveBefore(keep); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := snapshot.RemoveBefore(dir, keep); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	p.done(time.Since(start))
	return nil
}

// lockDir takes an exclusive flock on dir's LOCK file, so that a second
// metricsd on the same directory fails instead of interleaving writes.
// The lock goes with the process, even on SIGKILL.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("durable: open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("durable: data directory %s is in use by another metricsd (it holds the lock on %s)", dir, path)
		}
		return nil, fmt.Errorf("durable: lock %s: %w", path, err)
	}
	return f, nil
}

// release closes the log and drops the directory lock. e.mu must be held
// or the engine stopped.
func (e *Engine) release() error {
	var errs []error
	if e.wal != nil {
		if err := e.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("durable: %w", err))
		}
		e.wal = nil
	}
	if e.lock != nil {
		if err := e.lock.Close(); err != nil { // closing drops the flock
			errs = append(errs, fmt.Errorf("durable: release lock: %w", err))
		}
		e.lock = nil
	}
	return errors.Join(errs...)
}

// progress applies recovered points to memory and logs how far recovery
// has come every ProgressInterval.
type progress struct {
	ctx      context.Context
	e        *Engine
	start    time.Time
	lastLog  time.Time
	points   int64 // applied from the snapshot and the log
	walBytes int64 // log records replayed
	// refs caches memory's series by ID for the replay (memory's own
	// RefByID is a binary search under a lock; a points record names a
	// different series at nearly every point). It is filled from RefByID
	// and dropped with the progress once recovery is done.
	refs []store.Ref
}

func newProgress(ctx context.Context, e *Engine) *progress {
	now := time.Now()
	return &progress{ctx: ctx, e: e, start: now, lastLog: now}
}

// checkEvery is how many points pass between looks at the clock and ctx.
const checkEvery = 1 << 16

// count adds n applied points and, every checkEvery of them, checks ctx and
// logs progress when it is due.
func (p *progress) count(n int) error {
	before := p.points
	p.points += int64(n)
	p.e.replayed.Store(p.points)
	if before/checkEvery == p.points/checkEvery {
		return nil
	}
	if err := p.ctx.Err(); err != nil {
		return fmt.Errorf("durable: recovery interrupted: %w", err)
	}
	if now := time.Now(); now.Sub(p.lastLog) >= p.e.cfg.ProgressInterval {
		p.lastLog = now
		d := now.Sub(p.start)
		p.e.log.Info("recovering", "points", p.points, "elapsed", d.Round(time.Millisecond), "points_per_second", rate(int(p.points), d))
	}
	return nil
}

// done logs the summary of recovery.
func (p *progress) done(d time.Duration) {
	p.e.m.recovered.Add(float64(p.points))
	p.e.log.Info("recovery done", "points", p.points, "series", p.e.mem.SeriesCount(), "wal_bytes", p.walBytes,
		"duration", d.Round(time.Millisecond), "points_per_second", rate(int(p.points), d))
}

// snapshotSeries is the snapshot.LoadFunc of recovery: it hands the
// series to memory as it is, under the ID memory gave it when it was
// created, with its chunks.
func (p *progress) snapshotSeries(id uint64, key []byte, chunks [][]byte) error {
	if err := p.e.mem.LoadSeries(id, key, chunks); err != nil {
		return fmt.Errorf("%w: %w", snapshot.ErrBadSnapshot, err)
	}
	n := 0
	for _, c := range chunks {
		_, points, _ := chunkenc.Header(c) // checked by the loader
		n += points
	}
	return p.count(n)
}

// record is the wal.ReplayFunc of recovery. A series record restores the
// series under its ID (one a snapshot already holds is met again after the
// snapshot's cut); a point names its series by that ID.
func (p *progress) record(typ byte, payload []byte) error {
	p.walBytes += int64(wal.HeaderSize + 1 + len(payload))
	switch typ {
	case wal.TypeSeries:
		id, key, err := wal.DecodeSeries(payload)
		if err != nil {
			return err
		}
		if _, err := p.e.mem.RestoreSeries(id, key); err != nil {
			return fmt.Errorf("%w: %w", wal.ErrBadRecord, err)
		}
		return nil
	case wal.TypePoints:
		n := 0
		err := wal.DecodePoints(payload, func(id uint64, ts int64, v float64) error {
			ref, err := p.ref(id)
			if err != nil {
				return err
			}
			n++
			return p.put(ref, store.Point{Timestamp: ts, Value: v})
		})
		if err != nil {
			return err
		}
		return p.count(n)
	case wal.TypeDelete:
		return p.replayDelete(payload)
	}
	return nil
}

// ref returns the series whose ID is id.
func (p *progress) ref(id uint64) (store.Ref, error) {
	if id < uint64(len(p.refs)) && p.refs[id] != (store.Ref{}) {
		return p.refs[id], nil
	}
	ref, ok := p.e.mem.RefByID(id)
	if !ok {
		return store.Ref{}, fmt.Errorf("%w: point of unknown series %d", wal.ErrBadRecord, id)
	}
	if id >= uint64(len(p.refs)) { // a real ID: at most the series ever created
		p.refs = append(p.refs, make([]store.Ref, int(id)+1-len(p.refs))...)
	}
	p.refs[id] = ref
	return ref, nil
}

// put replays one logged put. A put that memory's limits refuse now is
// skipped: it was refused then too, or it has expired since (retention is
// measured against the clock, so replay refuses what the retention pass
// has dropped or would drop now, and needs no imitation of that pass).
func (p *progress) put(ref store.Ref, pt store.Point) error {
	if err := p.e.mem.PutRef(ref, pt); err != nil && !isLimit(err) {
		return err
	}
	return nil
}

// rate is n per second over d, for logs.
func rate(n int, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}
