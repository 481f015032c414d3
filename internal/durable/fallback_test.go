package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"metricsd/internal/snapshot"
	"metricsd/internal/testnet"
	"metricsd/internal/wal"
)

// snapshotsDir builds a data directory with the given number of trusted
// snapshots, more puts after the last one, and the engine closed without a
// final snapshot (a crash: the copy of the directory is returned). want is
// the store at that moment.
func snapshotsDir(t *testing.T, cfg Config, snaps int) (dir, want string) {
	t.Helper()
	cfg.Dir = t.TempDir()
	e := start(t, cfg)
	for range snaps {
		workload(t, e, 300)
		waitWritten(t, e)
		if err := e.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	workload(t, e, 100)
	waitWritten(t, e)
	want = dump(t, e)
	dir = copyDir(t, cfg.Dir)
	closeEngine(t, e)
	return dir, want
}

func TestDamagedSnapshotFallsBack(t *testing.T) {
	for _, snaps := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d snapshots", snaps), func(t *testing.T) {
			cfg := Config{SegmentSize: 1024, SnapshotInterval: -1}
			dir, want := snapshotsDir(t, cfg, snaps)
			list, _ := snapshot.List(dir)
			newest := snapshot.Path(dir, list[len(list)-1])
			flip(t, newest, 100)
			logs := &testnet.LogBuffer{}
			reg := prometheus.NewRegistry()
			cfg.Dir, cfg.Logger, cfg.Registerer = dir, newLogger(logs), reg
			e := start(t, cfg)
			if got := dump(t, e); got != want {
				t.Fatal("the store after the fallback differs: points were lost")
			}
			if !strings.Contains(logs.String(), "the newest snapshot is damaged") || !strings.Contains(logs.String(), newest) {
				t.Errorf("the fallback was not logged naming %s:\n%s", newest, logs)
			}
			if v := testutil.ToFloat64(e.m.snapFallbacks); v != 1 {
				t.Errorf("metricsd_snapshot_fallbacks_total = %v, want 1", v)
			}
			if _, err := os.Stat(newest + damagedSuffix); err != nil {
				t.Errorf("the damaged snapshot was not kept aside: %v", err)
			}
			// The engine goes on: a new snapshot, then a clean restart.
			workload(t, e, 20)
			want = dump(t, e)
			closeEngine(t, e)
			cfg.Registerer = nil
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("the restart after the fallback differs")
			}
		})
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	cfg := Config{SegmentSize: 1024, SnapshotInterval: -1}
	dir, _ := snapshotsDir(t, cfg, 1)
	list, _ := snapshot.List(dir)
	info, err := snapshot.Verify(snapshot.Path(dir, list[0]))
	if err != nil || info.Series == 0 {
		t.Fatalf("Verify of a good snapshot: %+v, %v", info, err)
	}
	flip(t, snapshot.Path(dir, list[0]), 50)
	if _, err := snapshot.Verify(snapshot.Path(dir, list[0])); !errors.Is(err, snapshot.ErrBadSnapshot) {
		t.Fatalf("Verify of a damaged snapshot: %v", err)
	}
}

func TestMissingFilesStopStartup(t *testing.T) {
	tests := []struct {
		name   string
		snaps  int
		damage func(t *testing.T, dir string) string // returns the file the error must name
		want   error
	}{
		{"the only snapshot deleted, the log since 0 kept", 1, nil, nil},
		{"the newest snapshot deleted", 2, func(t *testing.T, dir string) string {
			list, _ := snapshot.List(dir)
			remove(t, snapshot.Path(dir, list[len(list)-1]))
			return ""
		}, nil},
		{"every snapshot deleted", 2, func(t *testing.T, dir string) string {
			list, _ := snapshot.List(dir)
			for _, s := range list {
				remove(t, snapshot.Path(dir, s))
			}
			return snapshot.Path(dir, list[0])
		}, ErrSnapshotMissing},
		{"the segments after the older snapshot deleted", 2, func(t *testing.T, dir string) string {
			list, _ := snapshot.List(dir)
			remove(t, snapshot.Path(dir, list[1]))
			for s := list[0]; s < list[1]; s++ {
				remove(t, filepath.Join(dir, walDir, wal.SegmentName(s)))
			}
			return snapshot.Path(dir, list[0])
		}, ErrSnapshotMissing},
		{"a middle segment deleted", 2, func(t *testing.T, dir string) string {
			segs := segments(t, dir)
			path := filepath.Join(dir, walDir, segs[len(segs)-2])
			remove(t, path)
			return path
		}, wal.ErrMissingSegment},
		{"the log after the newest snapshot deleted", 2, func(t *testing.T, dir string) string {
			list, _ := snapshot.List(dir)
			newest := list[len(list)-1]
			for _, name := range segments(t, dir) {
				if n, _ := wal.ParseNumbered(name, ""); n >= newest {
					remove(t, filepath.Join(dir, walDir, name))
				}
			}
			return filepath.Join(dir, walDir, wal.SegmentName(newest))
		}, wal.ErrMissingSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{SegmentSize: 1024, SnapshotInterval: -1}
			dir, want := snapshotsDir(t, cfg, tt.snaps)
			cfg.Dir = dir
			if tt.damage == nil {
				list, _ := snapshot.List(dir)
				remove(t, snapshot.Path(dir, list[0]))
			} else if file := tt.damage(t, dir); tt.want != nil {
				before := dump(t, nil2(dir))
				err := startErr(t, cfg)
				var de *DamageError
				if !errors.Is(err, tt.want) || !errors.As(err, &de) || !strings.Contains(err.Error(), file) ||
					!strings.Contains(err.Error(), "metricsd repair --data-dir "+dir) {
					t.Fatalf("Start err = %v, want %v naming %s and the repair command", err, tt.want, file)
				}
				if dump(t, nil2(dir)) != before {
					t.Error("a failed startup modified the data directory")
				}
				return
			}
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("the store differs: with the log since the older snapshot nothing may be lost")
			}
		})
	}
}

func TestFlippedLastRecordStopsStartup(t *testing.T) {
	// Under --fsync=always the last record was acknowledged: a bad checksum
	// there is damage, not a torn write.
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: wal.SyncAlways, SnapshotInterval: -1}
	e := start(t, cfg)
	workload(t, e, 100)
	crashed := copyDir(t, dir)
	closeEngine(t, e)
	segs := segments(t, crashed)
	path := filepath.Join(crashed, walDir, segs[len(segs)-1])
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	flip(t, path, st.Size()-2)
	cfg.Dir = crashed
	err = startErr(t, cfg)
	var de *DamageError
	if !errors.As(err, &de) || !errors.Is(err, wal.ErrChecksum) || de.File != path || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("Start err = %v, want a checksum DamageError naming %s", err, path)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotThatDoesNotReadBackIsNotTrusted damages a snapshot between
// its commit and the read-back: it is removed, and nothing the log holds
// is deleted.
func TestSnapshotThatDoesNotReadBackIsNotTrusted(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SegmentSize: 1024, SnapshotInterval: -1}
	e := start(t, cfg)
	workload(t, e, 300)
	waitWritten(t, e)
	if err := e.Snapshot(); err != nil { // the first: its fallback is the whole log
		t.Fatal(err)
	}
	workload(t, e, 300)
	waitWritten(t, e)
	seg, err := e.requestCut()
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.writeSnapshot(seg)
	if err != nil {
		t.Fatal(err)
	}
	flip(t, info.Path, 50)
	before := segments(t, cfg.Dir)
	if err := e.trust(seg, info); !errors.Is(err, snapshot.ErrBadSnapshot) {
		t.Fatalf("trust of a damaged snapshot: %v", err)
	}
	if _, err := os.Stat(info.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the snapshot that did not read back is still there: %v", err)
	}
	if got := segments(t, cfg.Dir); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Errorf("segments after a failed read-back: %v, want %v", got, before)
	}
	want := dump(t, e)
	closeEngine(t, e)
	if got := dump(t, start(t, cfg)); got != want {
		t.Fatal("restart after a failed read-back differs")
	}
}
