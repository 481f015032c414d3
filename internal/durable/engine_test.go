package durable

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"metricsd/internal/snapshot"
	"metricsd/internal/store"
	"metricsd/internal/testnet"
	"metricsd/internal/wal"
)

var modes = []wal.SyncPolicy{wal.SyncAlways, wal.SyncInterval, wal.SyncNever}

func TestRestartAnswersIdentically(t *testing.T) {
	tests := []struct {
		name    string
		segSize int64
		restart func(t *testing.T, e *Engine, dir string) string // returns the dir to reopen
	}{
		{"graceful close (final snapshot)", 0, func(t *testing.T, e *Engine, dir string) string {
			closeEngine(t, e)
			return dir
		}},
		{"crash without a snapshot (log only)", 0, func(t *testing.T, e *Engine, dir string) string {
			waitWritten(t, e)
			return copyDir(t, dir)
		}},
		{"crash after a snapshot, small segments", 1024, func(t *testing.T, e *Engine, dir string) string {
			if err := e.Snapshot(); err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			workload(t, e, 300) // more puts after the snapshot, in the log only
			waitWritten(t, e)
			return copyDir(t, dir)
		}},
	}
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				cfg := Config{Dir: dir, Fsync: mode, SegmentSize: tt.segSize, SnapshotInterval: -1}
				e := start(t, cfg)
				workload(t, e, 1000)
				reopen := tt.restart(t, e, dir)
				want := dump(t, e)
				closeEngine(t, e)
				cfg.Dir = reopen
				again := start(t, cfg)
				if got := dump(t, again); got != want {
					t.Fatalf("after restart the store differs:\n got %d bytes\nwant %d bytes", len(got), len(want))
				}
				// And it goes on taking puts where it left off.
				put(t, again, "new", 1, 1)
				put(t, again, "cpu", 1, 2)
				want = dump(t, again)
				closeEngine(t, again)
				if got := dump(t, start(t, cfg)); got != want {
					t.Fatalf("after a second restart the store differs")
				}
			})
		}
	}
}

// waitWritten waits until the writer has written everything submitted so
// far (a put under wal.SyncInterval returns before its write).
func waitWritten(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		pending := e.cur.recs.Len()
		e.mu.Unlock()
		if pending == 0 {
			// The batch was taken; a cut request is answered only after
			// the writer has written it.
			if _, err := e.requestCut(); err != nil {
				t.Fatalf("cut: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer did not drain the pending batch in 10s")
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded by the deadline
	}
}

func TestPipelinedSubmitsKeepOrder(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: mode}
			e := start(t, cfg)
			var tickets []store.Ticket
			for i := range 2000 {
				tk, err := e.Submit([]byte("k"), store.Point{Timestamp: int64(i % 10), Value: float64(i)})
				if err != nil {
					t.Fatal(err)
				}
				tickets = append(tickets, tk)
			}
			for i := len(tickets) - 1; i >= 0; i-- { // any order of waiting
				if err := tickets[i].Wait(); err != nil {
					t.Fatal(err)
				}
			}
			var got []store.Point
			e.Get([]byte("k"), func(_ []byte, pts []store.Point) error { got = append(got, pts...); return nil })
			for i, p := range got {
				if p.Timestamp != int64(i) || p.Value != float64(1990+i) {
					t.Fatalf("point %d = %+v, want the last write %v", i, p, 1990+i)
				}
			}
			want := dump(t, e)
			closeEngine(t, e)
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("restart changed the store")
			}
		})
	}
}

func TestGroupCommitSharesFsyncs(t *testing.T) {
	fs := &faultyFS{gate: make(chan struct{})}
	e := start(t, Config{Dir: t.TempDir(), Fsync: wal.SyncAlways, OpenFile: fs.open})
	// The first put's batch is held in its fsync while 99 more are
	// submitted: they must all share the next fsync.
	first, err := e.Submit([]byte("k"), store.Point{Timestamp: 0})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fs.syncCount() == 1 }, "the first fsync to start")
	var tickets []store.Ticket
	for i := 1; i < 100; i++ {
		tk, err := e.Submit([]byte("k"), store.Point{Timestamp: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	fs.gate <- struct{}{} // the first batch's fsync
	if err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	fs.gate <- struct{}{} // the second batch's: all 99 others
	for _, tk := range tickets {
		if err := tk.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n := fs.syncCount(); n != 2 {
		t.Errorf("%d fsyncs for 100 puts in two batches, want 2", n)
	}
	fs.set(func(fs *faultyFS) { fs.gate = nil })
}

// waitFor polls cond until it holds, failing after 10s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded by the deadline
	}
}

// TestDiskFailureResumes is issue #11.4: while the log's writes fail (a
// full disk), puts are refused and nothing unwritten is acknowledged or
// visible; once writes work again the engine takes puts by itself, without
// a restart, and every acknowledged put survives one. The series created
// by the failed put is logged again before its next point. A failed fsync
// is different: the rollback's own fsync fails as well, nobody can say
// what the disk holds, and the engine refuses puts until a restart.
func TestDiskFailureResumes(t *testing.T) {
	tests := []struct {
		name    string
		mode    wal.SyncPolicy
		inject  func(fs *faultyFS)
		want    string
		resumes bool
	}{
		{"always, write fails", wal.SyncAlways, func(fs *faultyFS) { fs.failWrite = true }, "write segment", true},
		{"always, fsync fails", wal.SyncAlways, func(fs *faultyFS) { fs.failSync = true }, "fsync segment", false},
		{"interval, write fails", wal.SyncInterval, func(fs *faultyFS) { fs.failWrite = true }, "write segment", true},
		{"never, write fails", wal.SyncNever, func(fs *faultyFS) { fs.failWrite = true }, "write segment", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := &faultyFS{}
			e := start(t, Config{Dir: dir, Fsync: tt.mode, OpenFile: fs.open})
			put(t, e, "kept", 1, 1)
			fs.set(tt.inject)
			err := e.Put([]byte("lost"), store.Point{Timestamp: 2, Value: 2})
			if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put err = %v, want the injected fault (%s)", err, tt.want)
			}
			if got := dump(t, e); strings.Contains(got, "lost") {
				t.Errorf("a put answered with an error is visible:\n%s", got)
			}
			if err := e.Ready(); !errors.Is(err, ErrFailed) {
				t.Errorf("Ready = %v, want ErrFailed", err)
			}
			if err := e.Put([]byte("kept"), store.Point{Timestamp: 3}); !errors.Is(err, ErrFailed) {
				t.Errorf("a put while writes fail: err = %v, want ErrFailed", err)
			}
			fs.set(func(fs *faultyFS) { fs.failWrite, fs.failSync = false, false })
			if !tt.resumes {
				if err := e.Put([]byte("later"), store.Point{Timestamp: 3}); !errors.Is(err, ErrFailed) {
					t.Errorf("a put after the fsync failure: err = %v, want ErrFailed", err)
				}
				if err := e.Close(); !errors.Is(err, ErrFailed) {
					t.Errorf("Close of a failed engine = %v, want it to report the failure", err)
				}
				again := start(t, Config{Dir: dir})
				if got, want := dump(t, again), "\"kept\" 1 3ff0000000000000\n"; got != want {
					t.Errorf("after restart:\n%s\nwant only the acknowledged point:\n%s", got, want)
				}
				return
			}
			waitFor(t, func() bool { return e.Ready() == nil }, "the engine to take writes again")
			put(t, e, "lost", 4, 4) // the series of the failed put, logged again
			put(t, e, "kept", 5, 5)
			want := dump(t, e)
			closeEngine(t, e)
			again := start(t, Config{Dir: dir})
			if got := dump(t, again); got != want {
				t.Errorf("after restart:\n%s\nwant what was acknowledged:\n%s", got, want)
			}
		})
	}
}

func TestDiskFailureInterval(t *testing.T) {
	fs, e := failAfterAnAcknowledgedPut(t)
	waitFor(t, func() bool { return e.Ready() != nil }, "the failed fsync to fail the engine")
	if err := e.Ready(); !errors.Is(err, ErrFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("Ready = %v, want ErrFailed caused by the fault", err)
	}
	if err := e.Put([]byte("k"), store.Point{Timestamp: 3}); !errors.Is(err, ErrFailed) {
		t.Errorf("Put after failure = %v, want ErrFailed", err)
	}
	fs.set(func(fs *faultyFS) { fs.failSync = false })
}

// failAfterAnAcknowledgedPut starts an engine under --fsync interval (1 ms),
// puts k@1, makes fsyncs fail, and puts k@2, which must be acknowledged
// before the failing fsync: the interval at risk. The background fsync of
// k@1 may come after the fault is set and fail the engine before k@2 (the
// scheduler decides); then it tries again on a fresh engine.
func failAfterAnAcknowledgedPut(t *testing.T) (*faultyFS, *Engine) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		fs := &faultyFS{}
		e := start(t, Config{Dir: t.TempDir(), Fsync: wal.SyncInterval, FsyncInterval: time.Millisecond, OpenFile: fs.open})
		put(t, e, "k", 1, 1)
		fs.set(func(fs *faultyFS) { fs.failSync = true })
		err := e.Put([]byte("k"), store.Point{Timestamp: 2, Value: 2})
		if err == nil {
			return fs, e
		}
		if !errors.Is(err, ErrFailed) || attempt == 20 {
			t.Fatalf("Put(k, 2) on attempt %d: %v", attempt, err)
		}
		fs.set(func(fs *faultyFS) { fs.failSync = false })
	}
}

func TestSecondEngineOnOneDirectory(t *testing.T) {
	dir := t.TempDir()
	start(t, Config{Dir: dir})
	err := startErr(t, Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another metricsd") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Start err = %v, want one naming %s as in use", err, dir)
	}
}

func TestLockReleasedOnClose(t *testing.T) {
	dir := t.TempDir()
	e := start(t, Config{Dir: dir})
	closeEngine(t, e)
	start(t, Config{Dir: dir})
}

func TestCorruptionStopsStartup(t *testing.T) {
	tests := []struct {
		name string
		// damage damages the data dir and returns the file the error must name.
		damage func(t *testing.T, dir string) string
		want   error
	}{
		{"flipped bit in the middle of the log", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, walDir, wal.SegmentName(0))
			flip(t, path, 40)
			return path
		}, wal.ErrChecksum},
		{"damaged snapshot with nothing to fall back to", func(t *testing.T, dir string) string {
			segs, _ := snapshot.List(dir)
			path := snapshot.Path(dir, segs[len(segs)-1])
			flip(t, path, 60)
			if err := os.Remove(filepath.Join(dir, walDir, wal.SegmentName(0))); err != nil {
				t.Fatal(err)
			}
			return path
		}, snapshot.ErrBadSnapshot},
		{"missing segment", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, walDir, wal.SegmentName(1))
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			return wal.SegmentName(1)
		}, wal.ErrMissingSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, SegmentSize: 1024, SnapshotInterval: -1}
			e := start(t, cfg)
			workload(t, e, 200)
			if strings.Contains(tt.name, "snapshot") {
				closeEngine(t, e) // writes the snapshot
			} else {
				waitWritten(t, e)
				dir = copyDir(t, dir) // a crash: no snapshot, the whole log
				closeEngine(t, e)
			}
			cfg.Dir = dir
			file := tt.damage(t, dir)
			before := copyDir(t, dir)
			err := startErr(t, cfg)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("Start err = %v, want %v naming %s", err, tt.want, file)
			}
			var ce *wal.CorruptionError
			if errors.As(err, &ce) && !strings.Contains(err.Error(), "offset") {
				t.Errorf("corruption error without an offset: %v", err)
			}
			if dump(t, nil2(before)) != dump(t, nil2(dir)) {
				t.Errorf("a failed startup modified the data directory")
			}
		})
	}
}

// nil2 lists a directory's files and sizes as a store-like dump, to check
// that a failed startup changed nothing.
func nil2(dir string) store.Storage { return dirStore(dir) }

type dirStore string

func (d dirStore) Put([]byte, store.Point) error     { return nil }
func (d dirStore) Get([]byte, store.VisitFunc) error { return nil }
func (d dirStore) All(fn store.VisitFunc) error {
	return filepath.WalkDir(string(d), func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Name() == lockName {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(string(d), path)
		var sum float64
		for _, b := range data {
			sum = sum*31 + float64(b)
		}
		return fn([]byte(rel), []store.Point{{Timestamp: int64(len(data)), Value: sum}})
	})
}

// flip inverts one bit of the file at path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x08
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailIsRepaired(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SnapshotInterval: -1}
	e := start(t, cfg)
	workload(t, e, 100)
	waitWritten(t, e)
	want := dump(t, e)
	crashed := copyDir(t, dir)
	closeEngine(t, e)
	segs := segments(t, crashed)
	path := filepath.Join(crashed, walDir, segs[len(segs)-1])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9}) // a record cut short
	f.Close()
	logs := &testnet.LogBuffer{}
	cfg.Dir, cfg.Logger = crashed, newLogger(logs)
	if got := dump(t, start(t, cfg)); got != want {
		t.Fatal("the store after repairing a torn tail differs")
	}
	if !strings.Contains(logs.String(), "bytes_dropped=11") {
		t.Errorf("the repair was not logged with the bytes dropped:\n%s", logs)
	}
}

func TestSnapshotsKeepThePreviousOne(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentSize: 512, SnapshotInterval: -1}
	e := start(t, cfg)
	workload(t, e, 500)
	waitWritten(t, e)
	before := segments(t, dir)
	if len(before) < 5 {
		t.Fatalf("only %d segments before the snapshot; the test needs several", len(before))
	}
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// The first snapshot's fallback is the empty store: the whole log stays.
	if segs := segments(t, dir); segs[0] != before[0] {
		t.Errorf("segments after the first snapshot: %v, want all of them from %s", segs, before[0])
	}
	snaps, _ := snapshot.List(dir)
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v, want one", snaps)
	}
	first := snaps[0]
	workload(t, e, 50)
	waitWritten(t, e)
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snaps, _ = snapshot.List(dir)
	if len(snaps) != 2 || snaps[0] != first {
		t.Fatalf("snapshots after a second one: %v, want the first (%d) and the new one", snaps, first)
	}
	if segs := segments(t, dir); segs[0] != wal.SegmentName(first) {
		t.Errorf("segments after a second snapshot: %v, want those from %s on", segs, wal.SegmentName(first))
	}
	workload(t, e, 50)
	waitWritten(t, e)
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if got, _ := snapshot.List(dir); len(got) != 2 || got[0] != snaps[1] {
		t.Errorf("snapshots after a third one: %v, want the second (%d) and the new one", got, snaps[1])
	}
	want := dump(t, e)
	closeEngine(t, e)
	if got := dump(t, start(t, cfg)); got != want {
		t.Fatal("restart from the snapshot differs")
	}
}

func TestSnapshotsDuringConcurrentPuts(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: mode, SegmentSize: 4096, SnapshotInterval: -1, SnapshotWALBytes: 8192}
			e := start(t, cfg)
			var wg sync.WaitGroup
			for c := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					keys := []string{"shared", string(rune('a' + c))}
					for i := range 1500 {
						// Same (key, ts) from several clients: the log's order decides.
						put(t, e, keys[i%2], int64(i%50), float64(c*10000+i))
					}
				}()
			}
			for range 5 {
				if err := e.Snapshot(); err != nil {
					t.Errorf("Snapshot: %v", err)
				}
			}
			wg.Wait()
			want := dump(t, e)
			closeEngine(t, e)
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("restart after snapshots taken during puts differs")
			}
		})
	}
}

func TestRecoveryLogsProgress(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SnapshotInterval: -1}
	e := start(t, cfg)
	for i := range checkEvery * 2 {
		if _, err := e.Submit([]byte("k"), store.Point{Timestamp: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitWritten(t, e)
	crashed := copyDir(t, dir)
	closeEngine(t, e)
	logs := &testnet.LogBuffer{}
	cfg.Dir, cfg.Logger, cfg.ProgressInterval = crashed, newLogger(logs), time.Nanosecond
	start(t, cfg)
	out := logs.String()
	if !strings.Contains(out, "msg=recovering points=") || !strings.Contains(out, "points_per_second=") {
		t.Errorf("no progress lines:\n%s", out)
	}
	if !strings.Contains(out, "msg=\"recovery done\" points=131072") {
		t.Errorf("no summary with every point:\n%s", out)
	}
}

func TestReadyStates(t *testing.T) {
	dir := t.TempDir()
	e, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Ready(); !errors.Is(err, ErrNotReady) {
		t.Errorf("before Start: Ready = %v", err)
	}
	if err := e.Put([]byte("k"), store.Point{}); !errors.Is(err, ErrNotReady) {
		t.Errorf("Put before Start = %v", err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Ready(); err != nil {
		t.Errorf("after Start: Ready = %v", err)
	}
	closeEngine(t, e)
	if err := e.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: Ready = %v", err)
	}
	if err := e.Put([]byte("k"), store.Point{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestStartCancelled(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SnapshotInterval: -1}
	e := start(t, cfg)
	for i := range checkEvery + 1 {
		e.Submit([]byte("k"), store.Point{Timestamp: int64(i)})
	}
	waitWritten(t, e)
	crashed := copyDir(t, dir)
	closeEngine(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	again, err := New(Config{Dir: crashed})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context = %v", err)
	}
	if err := again.Ready(); !errors.Is(err, context.Canceled) {
		t.Errorf("Ready after a failed Start = %v", err)
	}
	again.Close()
	start(t, Config{Dir: crashed}) // the lock was released
}

func TestKeyLongerThanASegment(t *testing.T) {
	e := start(t, Config{Dir: t.TempDir(), SegmentSize: 1024})
	err := e.Put([]byte(strings.Repeat("x", 2000)), store.Point{})
	if !errors.Is(err, store.ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
	if got := dump(t, e); got != "" {
		t.Errorf("a refused put was stored: %s", got)
	}
	put(t, e, "ok", 1, math.Pi)
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a directory succeeded")
	}
	if _, err := New(Config{Dir: "x", Fsync: 9}); err == nil {
		t.Error("New with an unknown fsync mode succeeded")
	}
}

func TestConcurrentNewSeriesKeepOrder(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), Fsync: mode, SnapshotInterval: -1}
			e := start(t, cfg)
			var wg sync.WaitGroup
			for c := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						// New keys from every goroutine at once, each put twice.
						key := fmt.Sprintf("c%d.k%d", c, i)
						put(t, e, key, 2, float64(i))
						put(t, e, key, 1, float64(c))
					}
				}()
			}
			wg.Wait()
			want := dump(t, e)
			waitWritten(t, e)
			crashed := copyDir(t, cfg.Dir)
			closeEngine(t, e)
			cfg.Dir = crashed
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("first-insertion order or values differ after replay")
			}
		})
	}
}

// TestReplayUnderPointLimitWithRetention: the retention pass dropped
// points between the puts, freeing room under the point limit; replay
// does not imitate that pass, because retention follows the clock, so
// what the pass dropped is refused again at replay.
func TestReplayUnderPointLimitWithRetention(t *testing.T) {
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	cfg := Config{Dir: t.TempDir(), Fsync: wal.SyncNever, SnapshotInterval: -1,
		Limits: store.Limits{MaxPoints: 100, Retention: 10, Now: now}}
	e := start(t, cfg)
	for i := range 1000 {
		clock.Store(int64(i))
		put(t, e, "k", int64(i), float64(i))
		if i%20 == 19 { // the retention loop, between puts
			if _, err := e.mem.DropExpired(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.mem.DropExpired(); err != nil {
		t.Fatal(err)
	}
	want := dump(t, e)
	cfg.Dir = copyDir(t, cfg.Dir)
	closeEngine(t, e)
	again := start(t, cfg)
	if got := dump(t, again); got != want {
		t.Fatalf("replay lost puts that the point limit let in:\n got %q\nwant %q", got, want)
	}
}

// TestDataDirectoryPermissions: a new data directory and everything in it
// is private (issue #10.7); an existing one that others can read gets a
// warning.
func TestDataDirectoryPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	e := start(t, Config{Dir: dir, Fsync: wal.SyncAlways})
	put(t, e, "k", 1, 1)
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	put(t, e, "k", 2, 2)
	closeEngine(t, e)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs testnet.LogBuffer
	closeEngine(t, start(t, Config{Dir: open, Logger: newLogger(&logs)}))
	if !strings.Contains(logs.String(), "readable or writable by group or others") {
		t.Errorf("no warning about a directory of mode 0755:\n%s", logs.String())
	}
}
