package durable

import (
	"fmt"
	"strings"
	"testing"

	"metricsd/internal/snapshot"
	"metricsd/internal/store"
)

// keysOf lists s's keys in first-insertion order.
func keysOf(t *testing.T, e *Engine) string {
	t.Helper()
	var keys []string
	if err := e.Keys(func(k []byte) error { keys = append(keys, fmt.Sprintf("%q", k)); return nil }); err != nil {
		t.Fatal(err)
	}
	return strings.Join(keys, " ")
}

// TestDeleteAcrossRestart is issue #11.2's test: a delete survives a crash
// (the log's tombstone) and a snapshot, under each fsync mode; a key put
// again afterwards is a new series at the end of first-insertion order,
// and stays so after a restart.
func TestDeleteAcrossRestart(t *testing.T) {
	type restart struct {
		name string
		// stop ends the engine and returns the directory to restart on.
		stop func(t *testing.T, e *Engine, dir string) string
	}
	restarts := []restart{
		{"crash", func(t *testing.T, e *Engine, dir string) string {
			crashed := copyDir(t, dir) // every delete returned: its tombstone was written
			closeEngine(t, e)
			return crashed
		}},
		{"snapshot then crash", func(t *testing.T, e *Engine, dir string) string {
			if err := e.Snapshot(); err != nil {
				t.Fatal(err)
			}
			put(t, e, "after.snapshot", 1, 1)
			waitWritten(t, e)
			crashed := copyDir(t, dir)
			closeEngine(t, e)
			return crashed
		}},
		{"graceful (final snapshot)", func(t *testing.T, e *Engine, dir string) string {
			closeEngine(t, e)
			return dir
		}},
		{"graceful, then the snapshot damaged (the fallback replays the tombstones)", func(t *testing.T, e *Engine, dir string) string {
			closeEngine(t, e)
			snaps, _ := snapshot.List(dir)
			flip(t, snapshot.Path(dir, snaps[len(snaps)-1]), 40)
			return dir
		}},
	}
	for _, mode := range modes {
		for _, rs := range restarts {
			t.Run(mode.String()+"/"+rs.name, func(t *testing.T) {
				dir := t.TempDir()
				cfg := Config{Dir: dir, Fsync: mode, SegmentSize: 1024, SnapshotInterval: -1}
				e := start(t, cfg)
				workload(t, e, 300) // keys cpu, mem, "disk \xff", "", "k\x00", palm.cpu
				n, err := e.Delete(func(k []byte) bool { return strings.Contains(string(k), "m") })
				if err != nil || n != 2 {
					t.Fatalf("Delete = %d, %v; want 2 (mem, palm.cpu)", n, err)
				}
				put(t, e, "mem", 7, 7) // a new series, last in order
				n, err = e.Delete(func(k []byte) bool { return string(k) == "cpu" })
				if err != nil || n != 1 {
					t.Fatalf("second Delete = %d, %v", n, err)
				}
				if n, _ := e.Delete(func(k []byte) bool { return string(k) == "nothing" }); n != 0 {
					t.Fatalf("Delete of no key = %d", n)
				}
				waitWritten(t, e)
				want, wantKeys := dump(t, e), keysOf(t, e)
				if wantKeys != `"disk \xff" "" "k\x00" "mem"` {
					t.Fatalf("keys after the deletes: %s", wantKeys)
				}
				dir = rs.stop(t, e, dir)
				cfg.Dir = dir
				e2 := start(t, cfg)
				got := dump(t, e2)
				if strings.Contains(rs.name, "snapshot then") {
					if !strings.HasSuffix(got, "\"after.snapshot\" 1 3ff0000000000000\n") {
						t.Fatalf("the put after the snapshot is missing:\n%s", got)
					}
					got = strings.TrimSuffix(got, "\"after.snapshot\" 1 3ff0000000000000\n")
				}
				if got != want {
					t.Fatalf("after the restart:\n%s\nwant:\n%s", got, want)
				}
				// Deleting and putting again after the restart.
				if n, err := e2.Delete(func(k []byte) bool { return string(k) == "disk \xff" }); err != nil || n != 1 {
					t.Fatalf("Delete after restart = %d, %v", n, err)
				}
				put(t, e2, "disk \xff", 1, 2)
				want = dump(t, e2)
				closeEngine(t, e2)
				if got := dump(t, start(t, cfg)); got != want {
					t.Fatalf("after a second restart:\n%s\nwant:\n%s", got, want)
				}
			})
		}
	}
}

// TestDeleteBesidePutsDurable deletes keys while other goroutines put to
// them, then restarts: the recovered store is the one that was served.
func TestDeleteBesidePutsDurable(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: mode, SegmentSize: 4096, SnapshotInterval: -1, SnapshotWALBytes: 16 << 10}
			e := start(t, cfg)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 3000 {
					if err := e.Put(fmt.Appendf(nil, "k%d", i%10), store.Point{Timestamp: int64(i), Value: float64(i)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			for range 30 {
				if _, err := e.Delete(func(k []byte) bool { return k[1]%3 == 0 }); err != nil {
					t.Fatal(err)
				}
			}
			<-done
			waitWritten(t, e)
			want := dump(t, e)
			crashed := copyDir(t, dir)
			closeEngine(t, e)
			cfg.Dir = crashed
			if got := dump(t, start(t, cfg)); got != want {
				t.Fatal("the store recovered after deletes beside puts differs from the one served")
			}
		})
	}
}

func TestDeleteRefusedWhenNotReady(t *testing.T) {
	e, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(func([]byte) bool { return true }); err == nil {
		t.Fatal("Delete before Start succeeded")
	}
	e.Close()
}

// TestDeleteManyKeysFillsThePendingBatch deletes more tombstones than the
// pending batch holds, with no put to wake the writer: Delete must.
func TestDeleteManyKeysFillsThePendingBatch(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), Fsync: mode, MaxPendingBytes: 64, SnapshotInterval: -1}
			e := start(t, cfg)
			for i := range 200 {
				put(t, e, fmt.Sprintf("k%d", i), 1, 1)
			}
			if n, err := e.Delete(func([]byte) bool { return true }); err != nil || n != 200 {
				t.Fatalf("Delete = %d, %v; want 200", n, err)
			}
			if series, _ := e.Stats(); series != 0 {
				t.Fatalf("%d series left", series)
			}
			closeEngine(t, e)
			if series, _ := start(t, cfg).Stats(); series != 0 {
				t.Fatalf("%d series after a restart", series)
			}
		})
	}
}

// TestDeletedIDsAreNotGivenAgain deletes the newest series and restarts
// from a snapshot that no longer holds it: a new key must not get its id,
// or a fallback that replays the older log would see one id name two keys.
func TestDeletedIDsAreNotGivenAgain(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SnapshotInterval: -1}
	e := start(t, cfg)
	put(t, e, "a", 1, 1)
	put(t, e, "b", 1, 1)
	old, _ := e.mem.Lookup([]byte("b"))
	if n, err := e.Delete(func(k []byte) bool { return string(k) == "b" }); err != nil || n != 1 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	closeEngine(t, e) // the snapshot lacks b
	e = start(t, cfg)
	put(t, e, "c", 1, 1)
	if ref, _ := e.mem.Lookup([]byte("c")); ref.ID() <= old.ID() {
		t.Fatalf("the new key got series id %d, the deleted one had %d", ref.ID(), old.ID())
	}
	want := dump(t, e)
	closeEngine(t, e)
	snaps, _ := snapshot.List(cfg.Dir)
	flip(t, snapshot.Path(cfg.Dir, snaps[len(snaps)-1]), 40) // fall back over both runs' log
	if got := dump(t, start(t, cfg)); got != want {
		t.Fatalf("after the fallback:\n%s\nwant:\n%s", got, want)
	}
}
