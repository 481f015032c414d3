package durable

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"metricsd/internal/wal"
)

// FuzzRepair feeds arbitrary bytes to Repair as the log's only segment,
// after a valid prefix: it must never panic, and the directory it leaves
// must start, with nothing left for a second repair to do.
func FuzzRepair(f *testing.F) {
	b := wal.NewBatch(0, wal.DefaultMaxPointsBody)
	b.AddSeries(1, []byte("cpu"))
	b.AddPoint(1, 10, 1.5)
	b.AddSeries(2, []byte("mem"))
	b.AddPoint(2, 11, 2.5)
	b.AddDelete(1)
	b.AddPoint(2, 12, 3.5)
	valid := append([]byte(nil), b.Bytes()...)
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	bad := append([]byte(nil), valid...)
	bad[20] ^= 0xff
	f.Add(bad)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := memTempDir(t)
		if err := os.MkdirAll(filepath.Join(dir, walDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, walDir, wal.SegmentName(0)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Repair(dir, repairNow); err != nil {
			t.Fatalf("Repair: %v", err)
		}
		e, err := New(Config{Dir: dir, SnapshotInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background()); err != nil {
			t.Fatalf("Start after Repair: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if rep, err := Repair(dir, repairNow); err != nil || rep.Changed() {
			t.Fatalf("a second Repair: %+v, %v", rep, err)
		}
	})
}

// memTempDir is a temporary directory in memory (/dev/shm) where there is
// one, else t.TempDir: every exec of FuzzRepair fsyncs a dozen times, which
// on a disk shared with other work takes seconds instead of microseconds.
func memTempDir(t *testing.T) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "metricsd-fuzz-repair-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
