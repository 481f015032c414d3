package durable

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"metricsd/internal/snapshot"
	"metricsd/internal/wal"
)

// repairNow is the time every repair in these tests says it ran at.
var repairNow = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// frameSpans returns the [start, end) of every frame of a segment.
func frameSpans(t *testing.T, buf []byte) [][2]int {
	t.Helper()
	var spans [][2]int
	for off := 0; off < len(buf); {
		_, next, err := wal.NextFrame(buf, off)
		if err != nil {
			t.Fatalf("NextFrame at %d: %v", off, err)
		}
		spans = append(spans, [2]int{off, next})
		off = next
	}
	return spans
}

func TestRepairAfterDamage(t *testing.T) {
	tests := []struct {
		name string
		// damage damages dir and returns the bytes the side directory must
		// hold for the segment it names (nil: not checked).
		damage  func(t *testing.T, dir string) (seg string, dropped []byte)
		records int // at least this many records dropped
	}{
		{"bit flip in a middle record", func(t *testing.T, dir string) (string, []byte) {
			seg := segments(t, dir)[0]
			path := filepath.Join(dir, walDir, seg)
			buf, _ := os.ReadFile(path)
			sp := frameSpans(t, buf)[3]
			want := bytes.Clone(buf[sp[0]:sp[1]])
			want[sp[1]-sp[0]-1] ^= 0x08
			flip(t, path, int64(sp[1]-1))
			return seg, want
		}, 1},
		{"bit flip in the last record", func(t *testing.T, dir string) (string, []byte) {
			segs := segments(t, dir)
			seg := segs[len(segs)-1]
			path := filepath.Join(dir, walDir, seg)
			buf, _ := os.ReadFile(path)
			spans := frameSpans(t, buf)
			sp := spans[len(spans)-1]
			want := bytes.Clone(buf[sp[0]:])
			want[len(want)-2] ^= 0x08
			flip(t, path, int64(len(buf)-2))
			return seg, want
		}, 1},
		{"zeroed last 4 KiB", func(t *testing.T, dir string) (string, []byte) {
			segs := segments(t, dir)
			seg := segs[len(segs)-1]
			path := filepath.Join(dir, walDir, seg)
			buf, _ := os.ReadFile(path)
			if len(buf) <= 4096 {
				t.Fatalf("last segment of %d bytes", len(buf))
			}
			clear(buf[len(buf)-4096:])
			if err := os.WriteFile(path, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			return "", nil
		}, 1},
		{"every snapshot deleted", func(t *testing.T, dir string) (string, []byte) {
			list, _ := snapshot.List(dir)
			for _, s := range list {
				remove(t, snapshot.Path(dir, s))
			}
			return "", nil
		}, 0},
		{"a middle segment deleted", func(t *testing.T, dir string) (string, []byte) {
			segs := segments(t, dir)
			remove(t, filepath.Join(dir, walDir, segs[len(segs)/2]))
			return "", nil
		}, 0},
		{"the log after the newest snapshot deleted", func(t *testing.T, dir string) (string, []byte) {
			list, _ := snapshot.List(dir)
			for _, name := range segments(t, dir) {
				if n, _ := wal.ParseNumbered(name, ""); n >= list[len(list)-1] {
					remove(t, filepath.Join(dir, walDir, name))
				}
			}
			return "", nil
		}, 0},
		{"the newest snapshot and the segments after the older deleted", func(t *testing.T, dir string) (string, []byte) {
			list, _ := snapshot.List(dir)
			remove(t, snapshot.Path(dir, list[1]))
			for s := list[0]; s < list[1]; s++ {
				remove(t, filepath.Join(dir, walDir, wal.SegmentName(s)))
			}
			return "", nil
		}, 0},
		{"damaged snapshot with nothing to fall back to", func(t *testing.T, dir string) (string, []byte) {
			list, _ := snapshot.List(dir)
			for _, s := range list {
				flip(t, snapshot.Path(dir, s), 60)
			}
			return "", nil
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snaps := 0
			if strings.Contains(tt.name, "snapshot") {
				snaps = 2
			}
			// Fsync never: the damage is made by hand, and the log is
			// copied once it is written (waitWritten).
			cfg := Config{SegmentSize: 16 << 10, SnapshotInterval: -1, Fsync: wal.SyncNever}
			dir, _ := snapshotsDir(t, cfg, snaps)
			if snaps == 0 {
				// More log, so that the last segment holds several KiB.
				cfg.Dir = dir
				e := start(t, cfg)
				workload(t, e, 2000)
				waitWritten(t, e)
				dir = copyDir(t, dir)
				dropEmptyLastSegment(t, dir) // waitWritten's cut made it
				closeEngine(t, e)
			}
			cfg.Dir = dir
			seg, dropped := tt.damage(t, dir)
			var de *DamageError
			if err := startErr(t, cfg); !errors.As(err, &de) {
				t.Fatalf("Start on the damaged directory: %v, want a DamageError", err)
			}
			rep, err := Repair(dir, repairNow)
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if !rep.Changed() || rep.Records < tt.records {
				t.Fatalf("Repair report %+v, want changes and at least %d records dropped", rep, tt.records)
			}
			if dropped != nil {
				side, err := os.ReadFile(filepath.Join(rep.SideDir, walDir, seg+".dropped"))
				if err != nil || !bytes.Equal(side, dropped) {
					t.Fatalf("side file: %d bytes (%v), want the %d damaged bytes", len(side), err, len(dropped))
				}
			}
			e := start(t, cfg)
			want := dump(t, e)
			closeEngine(t, e)
			if again, err := Repair(dir, repairNow.Add(time.Second)); err != nil || again.Changed() {
				t.Fatalf("a second Repair: %+v, %v; want nothing to do", again, err)
			}
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("the repaired directory does not restart the same")
			}
		})
	}
}

func TestRepairOfAHealthyDirectoryChangesNothing(t *testing.T) {
	cfg := Config{SegmentSize: 1024, SnapshotInterval: -1}
	dir, _ := snapshotsDir(t, cfg, 2)
	before := dump(t, nil2(dir))
	rep, err := Repair(dir, repairNow)
	if err != nil || rep.Changed() || rep.SideDir != "" {
		t.Fatalf("Repair: %+v, %v; want nothing to do", rep, err)
	}
	if dump(t, nil2(dir)) != before {
		t.Fatal("Repair changed a healthy directory")
	}
}

func TestRepairRefusesARunningServer(t *testing.T) {
	dir := t.TempDir()
	start(t, Config{Dir: dir})
	if _, err := Repair(dir, repairNow); err == nil || !strings.Contains(err.Error(), "in use by another metricsd") {
		t.Fatalf("Repair beside a running engine: %v", err)
	}
}

// dropEmptyLastSegment removes the last segment of dir if it is empty, so
// that the last segment holds the last records.
func dropEmptyLastSegment(t *testing.T, dir string) {
	t.Helper()
	segs := segments(t, dir)
	path := filepath.Join(dir, walDir, segs[len(segs)-1])
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		remove(t, path)
	}
}
