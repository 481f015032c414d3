package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"metricsd/internal/snapshot"
	"metricsd/internal/wal"
)

// Snapshot retention (issue #11.5). A snapshot is trusted only once it has
// been written and read back whole; even then the previous snapshot and
// every log segment since it stay on disk until the next snapshot is
// trusted. So at any time the directory holds the newest snapshot N, the
// one before it P (or none, meaning the empty store at segment 0), and the
// segments from P on, and a damaged N falls back to P plus the log since P
// with nothing lost.

// damagedSuffix is added to a snapshot that startup passed over as
// damaged, so that it is kept for inspection but never read again.
const damagedSuffix = ".damaged"

// listLog returns the segment numbers of the log in dir, none if the log
// directory does not exist yet.
func listLog(dir string) ([]uint64, error) {
	segs, err := wal.ListNumbered(filepath.Join(dir, walDir), "")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("durable: %w", err)
	}
	return segs, nil
}

// loadSnapshot loads the newest snapshot that reads back whole and returns
// the first log segment it does not cover (0 without one), and the
// snapshots it passed over as damaged, which the caller sets aside once
// the log has replayed. A damaged snapshot is passed over only when the
// one before it (or, before the first, the empty store) and the log since
// it are on disk, so that nothing is lost; otherwise, or when the log
// starts after the chosen snapshot, Start stops with a *DamageError.
func (e *Engine) loadSnapshot(p *progress) (uint64, []string, error) {
	dir := e.cfg.Dir
	snaps, err := snapshot.List(dir)
	if err != nil {
		return 0, nil, fmt.Errorf("durable: %w", err)
	}
	segs, err := listLog(dir)
	if err != nil {
		return 0, nil, err
	}
	var passed []string
	for i := len(snaps) - 1; i >= 0; i-- {
		path := snapshot.Path(dir, snaps[i])
		_, verr := snapshot.Verify(path)
		var ce *wal.CorruptionError
		if verr != nil && !errors.As(verr, &ce) {
			return 0, nil, fmt.Errorf("durable: load snapshot: %w", verr)
		}
		if verr == nil {
			from, err := e.loadVerified(p, path)
			if err == nil && len(segs) > 0 && segs[0] > from {
				err = missingSnapshot(dir, filepath.Join(dir, walDir), from, segs[0])
			}
			return from, passed, err
		}
		prev := uint64(0)
		if i > 0 {
			prev = snaps[i-1]
		}
		if !slices.Contains(segs, prev) {
			return 0, nil, &DamageError{Dir: dir, File: path, Err: fmt.Errorf(
				"durable: load snapshot: %w; no older snapshot with the log since it is on disk to fall back to", verr)}
		}
		fallback := "the empty store and the whole log"
		if i > 0 {
			fallback = snapshot.Path(dir, prev) + " and the log since it"
		}
		e.m.snapFallbacks.Inc()
		e.log.Error("durable: the newest snapshot is damaged: falling back to the one before it; nothing is lost",
			"damaged", path, "err", verr, "fallback", fallback, "set_aside_as", path+damagedSuffix)
		passed = append(passed, path)
	}
	if len(segs) > 0 && segs[0] > 0 {
		return 0, nil, missingSnapshot(dir, filepath.Join(dir, walDir), 0, segs[0])
	}
	return 0, passed, nil
}

// loadVerified loads the snapshot at path, which Verify accepted, into
// memory and returns the first segment it does not cover.
func (e *Engine) loadVerified(p *progress, path string) (uint64, error) {
	start := time.Now()
	info, err := snapshot.Load(path, p.snapshotSeries)
	if err != nil {
		return 0, damaged(e.cfg.Dir, fmt.Errorf("durable: load snapshot: %w", err))
	}
	d := time.Since(start)
	e.mem.RaiseLastID(info.LastID) // recovery: no put runs yet
	e.m.snapSize.Set(float64(info.Bytes))
	e.log.Info("snapshot loaded", "file", path, "series", info.Series, "chunks", info.Chunks, "points", info.Points,
		"bytes", info.Bytes, "duration", d, "points_per_second", rate(info.Points, d))
	return info.Segment, nil
}

// setAside renames the snapshots that startup passed over as damaged, once
// the fallback has replayed, so that they are kept but never read again.
func setAside(dir string, paths []string) error {
	for _, path := range paths {
		if err := os.Rename(path, path+damagedSuffix); err != nil {
			return fmt.Errorf("durable: set the damaged snapshot %s aside: %w", path, err)
		}
	}
	if len(paths) > 0 {
		if err := wal.SyncDir(dir); err != nil {
			return fmt.Errorf("durable: %w", err)
		}
	}
	return nil
}

// retained is the first log segment to keep when the newest trusted
// snapshot covers the log before seg: the segment of the snapshot before
// it, or 0 when there is none (the whole log stays until a second snapshot
// is trusted).
func retained(dir string, seg uint64) (uint64, error) {
	snaps, err := snapshot.List(dir)
	if err != nil {
		return 0, fmt.Errorf("durable: %w", err)
	}
	keep := uint64(0)
	for _, s := range snaps {
		if s < seg {
			keep = s
		}
	}
	return keep, nil
}

// trust reads back the snapshot just written for the log before seg and,
// when it is whole, deletes what the snapshot before it covered: segments
// and snapshots older than that one. A snapshot that does not read back is
// deleted and its error returned; the log keeps everything.
func (e *Engine) trust(seg uint64, info snapshot.Info) error {
	if _, err := snapshot.Verify(info.Path); err != nil {
		e.m.snapFailures.Inc()
		if rerr := os.Remove(info.Path); rerr != nil {
			return fmt.Errorf("durable: the snapshot just written does not read back: %w; removing it failed too: %v", err, rerr)
		}
		return fmt.Errorf("durable: the snapshot just written does not read back, removed it: %w", err)
	}
	keep, err := retained(e.cfg.Dir, seg)
	if err != nil {
		return err
	}
	return e.dropCovered(keep)
}
