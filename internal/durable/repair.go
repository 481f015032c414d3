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

// RepairReport says what Repair did to a data directory.
type RepairReport struct {
	// SideDir holds everything Repair dropped, byte for byte; empty when
	// nothing was dropped.
	SideDir string
	// Records counts the log records dropped (a damaged region counts as
	// one), Points the points dropped from records that still decode (a
	// damaged region's cannot be counted), and Bytes every byte moved to
	// SideDir, snapshots included.
	Records, Points int
	Bytes           int64
	// Actions lists what was done, one line each, for the operator.
	Actions []string
}

// Changed reports whether Repair changed anything.
func (r *RepairReport) Changed() bool { return len(r.Actions) > 0 }

// Repair makes the data directory dir start again, explicitly and offline
// (it takes the directory's lock, so it refuses while a server runs on
// it), after Start refused it with a *DamageError (issue #11.5). It keeps
// every record it can and copies whatever it drops into a new directory
// dir/repair-TIME (now, in UTC) before changing a file:
//
//   - a snapshot that does not read back whole is moved there; the one
//     before it and the log since it, when on disk, then lose nothing;
//   - a log with no snapshot covering its start gets an empty snapshot
//     there (what that snapshot held is lost), and a missing segment is
//     replaced by an empty one;
//   - in a segment, a damaged region (from a damaged frame to the next
//     valid frame, or the end) is cut out, and so is a record that cannot
//     be replayed (an unknown type, a series id naming two keys, a delete
//     of a series whose name is lost); a points record loses the points of
//     series whose series record is gone.
//
// The report counts what was dropped. Repairing a healthy directory
// changes nothing.
func Repair(dir string, now time.Time) (RepairReport, error) {
	lock, err := lockDir(dir)
	if err != nil {
		return RepairReport{}, err
	}
	defer lock.Close()
	r := &repairer{
		dir:    dir,
		wal:    filepath.Join(dir, walDir),
		side:   filepath.Join(dir, "repair-"+now.UTC().Format("20060102T150405Z")),
		keys:   make(map[uint64]string),
		ids:    make(map[string]uint64),
		report: &RepairReport{},
	}
	err = r.run()
	return *r.report, err
}

// repairer is the state of one Repair.
type repairer struct {
	dir, wal, side string
	keys           map[uint64]string // series id → key, as replay would register them
	ids            map[string]uint64
	report         *RepairReport
}

// act records an action.
func (r *repairer) act(format string, args ...any) {
	r.report.Actions = append(r.report.Actions, fmt.Sprintf(format, args...))
}

func (r *repairer) run() error {
	from, err := r.snapshots()
	if err != nil {
		return err
	}
	segs, err := listLog(r.dir)
	if err != nil {
		return err
	}
	segs = slices.DeleteFunc(segs, func(s uint64) bool { return s < from })
	if err := os.MkdirAll(r.wal, 0o755); err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	if len(segs) == 0 && from > 0 {
		if err := r.emptySegment(from, "the log after the snapshot is not on disk"); err != nil {
			return err
		}
		segs = []uint64{from}
	}
	for i, seg := range segs {
		for want := from; i == 0 && want < seg; want++ {
			if err := r.emptySegment(want, "it was missing"); err != nil {
				return err
			}
		}
		if i > 0 {
			for want := segs[i-1] + 1; want < seg; want++ {
				if err := r.emptySegment(want, "it was missing"); err != nil {
					return err
				}
			}
		}
		if err := r.segment(seg, i == len(segs)-1); err != nil {
			return err
		}
	}
	if r.report.Changed() {
		for _, d := range []string{r.wal, r.dir} {
			if err := wal.SyncDir(d); err != nil {
				return fmt.Errorf("durable: repair: %w", err)
			}
		}
	}
	if r.report.Bytes > 0 {
		r.report.SideDir = r.side
	}
	return nil
}

// snapshots moves aside the snapshots that do not read back, newest
// first, until one does, loads its series names and returns the first
// segment it does not cover. Without one, a log that starts after segment
// 0 gets an empty snapshot that covers the log before its first segment.
func (r *repairer) snapshots() (uint64, error) {
	snaps, err := snapshot.List(r.dir)
	if err != nil {
		return 0, fmt.Errorf("durable: repair: %w", err)
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		path := snapshot.Path(r.dir, snaps[i])
		info, err := snapshot.Load(path, func(id uint64, key []byte, _ [][]byte) error {
			r.keys[id], r.ids[string(key)] = string(key), id
			return nil
		})
		if err == nil {
			return info.Segment, nil
		}
		var ce *wal.CorruptionError
		if !errors.As(err, &ce) {
			return 0, fmt.Errorf("durable: repair: %w", err)
		}
		clear(r.keys)
		clear(r.ids)
		n, err := r.moveAside(path)
		if err != nil {
			return 0, err
		}
		r.act("moved the damaged snapshot %s (%d bytes) to %s: %v", path, n, r.side, ce)
	}
	segs, err := listLog(r.dir)
	if err != nil || len(segs) == 0 || segs[0] == 0 {
		return 0, err
	}
	w, err := snapshot.Create(r.dir, segs[0])
	if err != nil {
		return 0, err
	}
	info, err := w.Commit()
	if err != nil {
		return 0, err
	}
	r.act("wrote the empty snapshot %s: no snapshot covered the log before segment %s, so what it held is lost", info.Path, wal.SegmentName(segs[0]))
	return segs[0], nil
}

// moveAside moves the file at path into the side directory and returns
// its size.
func (r *repairer) moveAside(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("durable: repair: %w", err)
	}
	if err := os.MkdirAll(r.side, 0o755); err != nil {
		return 0, fmt.Errorf("durable: repair: %w", err)
	}
	if err := os.Rename(path, filepath.Join(r.side, filepath.Base(path))); err != nil {
		return 0, fmt.Errorf("durable: repair: move %s aside: %w", path, err)
	}
	r.report.Bytes += st.Size()
	return st.Size(), nil
}

// emptySegment creates segment seg, empty, in place of a missing one.
func (r *repairer) emptySegment(seg uint64, why string) error {
	path := filepath.Join(r.wal, wal.SegmentName(seg))
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	r.act("created %s empty: %s; points of series named only there are dropped", path, why)
	return nil
}

// segment checks segment seg as replay would and rewrites it without what
// replay would refuse, copying what it drops to the side directory.
func (r *repairer) segment(seg uint64, last bool) error {
	path := filepath.Join(r.wal, wal.SegmentName(seg))
	buf, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	var kept, dropped []byte
	drop := func(b []byte) { dropped = append(dropped, b...) }
	points := r.report.Points
	for off := 0; off < len(buf); {
		body, next, err := wal.NextFrame(buf, off)
		if err != nil {
			end := wal.NextValidFrame(buf, off)
			if end < 0 || (last && wal.Torn(buf, off, err)) {
				end = len(buf)
			}
			r.act("%s: cut out %d damaged bytes at offset %d (%v)", path, end-off, off, err)
			drop(buf[off:end])
			r.report.Records++
			off = end
			continue
		}
		frame := buf[off:next]
		keep, why := r.record(body, &kept)
		switch {
		case keep:
			kept = append(kept, frame...)
		case why != "":
			r.act("%s: dropped the record at offset %d: %s", path, off, why)
			drop(frame)
		default: // partly kept: record appended its kept points
			drop(frame)
		}
		off = next
	}
	if len(dropped) == 0 {
		return nil
	}
	if n := r.report.Points - points; n > 0 {
		r.act("%s: dropped %d points of series whose name is lost", path, n)
	}
	if err := os.MkdirAll(filepath.Join(r.side, walDir), 0o755); err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	sidePath := filepath.Join(r.side, walDir, wal.SegmentName(seg)+".dropped")
	if err := writeSynced(sidePath, dropped); err != nil {
		return err
	}
	tmp := path + ".repair"
	if err := writeSynced(tmp, kept); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	r.report.Bytes += int64(len(dropped))
	return nil
}

// record checks one record as replay would. It returns keep when the
// frame stays as it is; otherwise why, or for a points record with points
// of series whose name is lost an empty why (the segment sums those up),
// after appending a record of the points it keeps, if any, to kept.
func (r *repairer) record(body []byte, kept *[]byte) (keep bool, why string) {
	payload := body[1:]
	switch body[0] {
	case wal.TypeSeries:
		id, key, err := wal.DecodeSeries(payload)
		switch {
		case err != nil:
			r.report.Records++
			return false, err.Error()
		case r.keys[id] != "" && r.keys[id] != string(key):
			r.report.Records++
			return false, fmt.Sprintf("series %d is already named %q", id, r.keys[id])
		}
		if other, ok := r.ids[string(key)]; ok && other != id {
			r.report.Records++
			return false, fmt.Sprintf("key %q already has series id %d", key, other)
		}
		r.keys[id], r.ids[string(key)] = string(key), id
		return true, ""
	case wal.TypeDelete:
		id, err := wal.DecodeDelete(payload)
		if err != nil {
			r.report.Records++
			return false, err.Error()
		}
		key, ok := r.keys[id]
		if !ok {
			r.report.Records++
			return false, fmt.Sprintf("it deletes series %d, whose name is lost", id)
		}
		delete(r.keys, id)
		delete(r.ids, key)
		return true, ""
	case wal.TypePoints:
		var good, bad int
		err := wal.DecodePoints(payload, func(id uint64, _ int64, _ float64) error {
			if _, ok := r.keys[id]; ok {
				good++
			} else {
				bad++
			}
			return nil
		})
		if err != nil {
			r.report.Records++
			return false, err.Error()
		}
		if bad == 0 {
			return true, ""
		}
		r.report.Points += bad
		if good == 0 {
			r.report.Records++
			return false, "" // summed up per segment
		}
		b := wal.NewBatch(len(payload)+wal.HeaderSize+1, wal.MaxBodySize)
		wal.DecodePoints(payload, func(id uint64, ts int64, v float64) error {
			if _, ok := r.keys[id]; ok {
				b.AddPoint(id, ts, v)
			}
			return nil
		})
		*kept = append(*kept, b.Bytes()...)
		return false, ""
	}
	r.report.Records++
	return false, fmt.Sprintf("unknown record type %d", body[0])
}

// writeSynced writes data to a new file at path and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("durable: repair: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("durable: repair: write %s: %w", path, err)
	}
	return nil
}
