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
	go e.syncer()
	go e.snapshotter()
	return nil
}

// recover does Start's work.
func (e *Engine) recover(ctx context.Context) error {
	dir := e.cfg.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("durable: create data directory %s: %w", dir, err)
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
	opts := wal.Options{
		SegmentSize: e.cfg.SegmentSize,
		OpenFile:    e.cfg.OpenFile,
		Logger:      e.log,
		Registerer:  e.cfg.Registerer,
	}
	if e.cfg.Fsync != FsyncAlways {
		opts.HandOff = e.handOff // segments are fsynced by the syncer
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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
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
	points   int64  // applied from the snapshot and the log
	walBytes int64  // log records replayed
	loaded   uint64 // series loaded from the snapshot
	// noDropUntil is the point count before which put does not try
	// dropping expired points again.
	noDropUntil int64
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
	p.e.log.Info("recovery done", "points", p.points, "series", len(p.e.keys), "wal_bytes", p.walBytes,
		"duration", d.Round(time.Millisecond), "points_per_second", rate(int(p.points), d))
}

// snapshotSeries is the snapshot.LoadFunc of recovery: it registers the
// series under its log id and hands its chunks to memory as they are.
// Memory numbers series in load order, which is first-insertion order.
func (p *progress) snapshotSeries(id uint64, key []byte, chunks [][]byte) error {
	e := p.e
	if _, ok := e.keys[id]; ok {
		return fmt.Errorf("%w: series %d appears twice", snapshot.ErrBadSnapshot, id)
	}
	if err := e.known(id, key); err != nil {
		return fmt.Errorf("%w: %w", snapshot.ErrBadSnapshot, err)
	}
	e.register(id, append([]byte(nil), key...))
	p.loaded++
	if err := e.mem.LoadSeries(p.loaded, key, chunks); err != nil {
		return fmt.Errorf("%w: %w", snapshot.ErrBadSnapshot, err)
	}
	n := 0
	for _, c := range chunks {
		_, points, _ := chunkenc.Header(c) // checked by the loader
		n += points
	}
	return p.count(n)
}

// known checks that id and key are not already registered to something
// else: a log or snapshot that says otherwise is damaged.
func (e *Engine) known(id uint64, key []byte) error {
	if k, ok := e.keys[id]; ok && string(k) != string(key) {
		return fmt.Errorf("%w: series %d named %q and %q", wal.ErrBadRecord, id, k, key)
	}
	if other, ok := e.lookup(key); ok && other.id != id {
		return fmt.Errorf("%w: key %q has series ids %d and %d", wal.ErrBadRecord, key, other.id, id)
	}
	return nil
}

// record is the wal.ReplayFunc of recovery.
func (p *progress) record(typ byte, payload []byte) error {
	p.walBytes += int64(wal.HeaderSize + 1 + len(payload))
	switch typ {
	case wal.TypeSeries:
		id, key, err := wal.DecodeSeries(payload)
		if err != nil {
			return err
		}
		if err := p.e.known(id, key); err != nil {
			return err
		}
		if _, ok := p.e.keys[id]; !ok {
			p.e.register(id, append([]byte(nil), key...))
		}
		return nil
	case wal.TypePoints:
		n := 0
		err := wal.DecodePoints(payload, func(id uint64, ts int64, v float64) error {
			key, ok := p.e.keys[id]
			if !ok {
				return fmt.Errorf("%w: point of unknown series %d", wal.ErrBadRecord, id)
			}
			n++
			if err := p.put(key, store.Point{Timestamp: ts, Value: v}); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		return p.count(n)
	case wal.TypeDelete:
		return p.e.replayDelete(payload)
	}
	return nil
}

// put replays one logged put. A put that memory's limits refuse now was
// refused when it was made too, and is skipped, with one exception: the
// retention loop dropped expired points between the original puts, which
// replay does not, so under MaxPoints a put that was accepted may find
// memory full. Then the points that the window has expired are dropped
// (as the loop would have, and at least as many) and the put is tried
// again. A drop that frees nothing is not retried for dropEvery more
// points, so that a full store does not rescan itself on every put.
func (p *progress) put(key []byte, pt store.Point) error {
	err := p.e.mem.Put(key, pt)
	if err == nil || !isLimit(err) {
		return err
	}
	if p.e.cfg.Limits.MaxPoints <= 0 || p.e.cfg.Limits.Retention <= 0 || p.points < p.noDropUntil {
		return nil // refused then too
	}
	n, derr := p.e.mem.DropExpired()
	if derr != nil {
		return fmt.Errorf("durable: drop expired points during replay: %w", derr)
	}
	if n == 0 {
		p.noDropUntil = p.points + dropEvery
		return nil
	}
	if err := p.e.mem.Put(key, pt); err != nil && !isLimit(err) {
		return err
	}
	return nil
}

// dropEvery is how many replayed points pass after a drop of expired
// points that freed nothing before replay tries another.
const dropEvery = 1 << 16

// rate is n per second over d, for logs.
func rate(n int, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}
