package wal

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

var errInjected = errors.New("injected fault")

// faults decides which operations of the segment files fail. The zero
// value fails nothing.
type faults struct {
	mu           sync.Mutex
	writeAfter   int // fail a write once this many bytes were written; < 0 never
	failSync     bool
	failTruncate bool
	written      int
	synced       map[string]bool // files fsynced at least once
	closed       int             // files closed
}

func (f *faults) syncedFiles() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.synced)
}

func (f *faults) closedFiles() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// open is an OpenFileFunc whose files obey f.
func (f *faults) open(name string, flag int, perm os.FileMode) (File, error) {
	file, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: file, faults: f}, nil
}

func (f *faults) set(fn func(f *faults)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
	f.written = 0
}

// faultyFile is a segment file that fails as its faults say: a failing
// write first writes what fits under the limit (a short write), as a full
// disk does.
type faultyFile struct {
	*os.File
	faults *faults
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	f := ff.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeAfter >= 0 && f.written+len(p) > f.writeAfter {
		n, _ := ff.File.Write(p[:f.writeAfter-f.written])
		f.written += n
		return n, errInjected
	}
	n, err := ff.File.Write(p)
	f.written += n
	return n, err
}

func (ff *faultyFile) Sync() error {
	f := ff.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSync {
		return errInjected
	}
	if f.synced == nil {
		f.synced = map[string]bool{}
	}
	f.synced[ff.Name()] = true
	return ff.File.Sync()
}

func (ff *faultyFile) Close() error {
	f := ff.faults
	f.mu.Lock()
	f.closed++
	f.mu.Unlock()
	return ff.File.Close()
}

func (ff *faultyFile) Truncate(size int64) error {
	f := ff.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failTruncate {
		return errInjected
	}
	return ff.File.Truncate(size)
}

func TestWriteFailureRollsBack(t *testing.T) {
	tests := []struct {
		name         string
		segSize      int64
		points       int
		set          func(f *faults)
		wantErr      string
		wantRollback bool // the rollback succeeds
	}{
		{"short write", 0, 50, func(f *faults) { f.writeAfter = 100 }, "write segment", true},
		{"write fails at once", 0, 50, func(f *faults) { f.writeAfter = 0 }, "write segment", true},
		{"fsync fails", 0, 50, func(f *faults) { f.writeAfter = -1; f.failSync = true }, "fsync segment", false},
		{"fails in a segment cut for the batch", 1024, 200, func(f *faults) { f.writeAfter = 1500 }, "write segment", true},
		{"rollback fails too", 0, 50, func(f *faults) { f.writeAfter = 10; f.failTruncate = true }, "rolling the log back failed too", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ff := &faults{writeAfter: -1}
			opts := Options{SegmentSize: tt.segSize, OpenFile: ff.open}
			l, _, err := replayAll(t, dir, 0, opts)
			if err != nil {
				t.Fatal(err)
			}
			good := NewBatch(0, DefaultMaxPointsBody)
			good.AddSeries(1, []byte("k"))
			good.AddPoint(1, 1, 1)
			if err := l.Write(good.Bytes()); err != nil {
				t.Fatal(err)
			}
			ff.set(tt.set)
			bad := NewBatch(0, MaxPointsBody(opts.SegmentSize))
			for i := range tt.points {
				bad.AddPoint(1, int64(i+2), 2)
			}
			err = l.Write(bad.Bytes())
			if err == nil || !errors.Is(err, errInjected) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write err = %v, want an injected fault mentioning %q", err, tt.wantErr)
			}
			ff.set(func(f *faults) { f.writeAfter, f.failSync, f.failTruncate = -1, false, false })
			l.Close()
			if !tt.wantRollback {
				return
			}
			_, got, err := replayAll(t, dir, 0, Options{SegmentSize: tt.segSize})
			if err != nil {
				t.Fatalf("Replay after rollback: %v", err)
			}
			if len(got.points) != 1 {
				t.Errorf("after a failed write, replay gave %d points, want only the 1 written before", len(got.points))
			}
			if segs, _ := listSegments(dir); len(segs) != 1 {
				t.Errorf("segments after rollback: %v, want only the first", segs)
			}
		})
	}
}

func TestSyncFailureRollsBack(t *testing.T) {
	// The fsync failure case above can't replay through the failing file;
	// here the rollback's own fsync succeeds, so the file can be checked.
	dir := t.TempDir()
	ff := &faults{writeAfter: -1}
	l, _, err := replayAll(t, dir, 0, Options{OpenFile: ff.open})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(0, DefaultMaxPointsBody)
	b.AddPoint(1, 1, 1)
	if err := l.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	calls := 0
	l.f = &syncFailsOnce{File: l.f, calls: &calls}
	if err := l.Write(b.Bytes()); !errors.Is(err, errInjected) {
		t.Fatalf("Write err = %v, want the injected fsync failure", err)
	}
	l.Close()
	_, got, err := replayAll(t, dir, 0, Options{})
	if err != nil || len(got.points) != 1 {
		t.Fatalf("replay after a failed fsync: %d points, err %v; want the 1 point before it", len(got.points), err)
	}
}

// syncFailsOnce fails its first Sync only.
type syncFailsOnce struct {
	File
	calls *int
}

func (s *syncFailsOnce) Sync() error {
	*s.calls++
	if *s.calls == 1 {
		return errInjected
	}
	return s.File.Sync()
}
