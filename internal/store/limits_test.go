package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one put of a limits scenario and whether it must be refused.
type step struct {
	key     string
	ts      int64
	v       float64
	refused bool
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		steps  []step
		want   []visited
	}{
		{"max series", Limits{MaxSeries: 2}, []step{
			{"a", 1, 1, false}, {"b", 1, 1, false}, {"c", 1, 1, true}, {"a", 2, 2, false}, {"c", 2, 2, true},
		}, []visited{{"a", []Point{pt(1, 1), pt(2, 2)}}, {"b", []Point{pt(1, 1)}}}},
		{"max points allows overwrites", Limits{MaxPoints: 3}, []step{
			{"a", 1, 1, false}, {"a", 2, 2, false}, {"b", 1, 1, false},
			{"a", 3, 3, true}, {"a", 1, 9, false}, {"c", 1, 1, true}, {"b", 0, 1, true},
		}, []visited{{"a", []Point{pt(1, 9), pt(2, 2)}}, {"b", []Point{pt(1, 1)}}}},
		{"retention refuses old puts", Limits{Retention: 100, Now: fixedClock(1000)}, []step{
			{"a", 1000, 1, false}, {"a", 900, 2, false}, {"a", 899, 3, true}, {"b", 10, 1, true},
		}, []visited{{"a", []Point{pt(900, 2), pt(1000, 1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemoryWith(tt.limits)
			for _, st := range tt.steps {
				err := m.Put([]byte(st.key), pt(st.ts, st.v))
				if st.refused != (err != nil) {
					t.Fatalf("put %s@%d: err %v, want refused=%v", st.key, st.ts, err, st.refused)
				}
				if err != nil && !errors.Is(err, ErrLimit) {
					t.Fatalf("put %s@%d: err %v does not wrap ErrLimit", st.key, st.ts, err)
				}
			}
			got := collectAll(t, m)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("stored %v, want %v", got, tt.want)
			}
			if series, _ := m.Stats(); series != len(tt.want) {
				t.Fatalf("Stats series = %d, want %d: a refused put left a key behind", series, len(tt.want))
			}
		})
	}
}

func TestMaxPointsExactUnderConcurrency(t *testing.T) {
	const limit, writers, each = 1000, 8, 500
	m := NewMemoryWith(Limits{MaxPoints: limit})
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := m.Put(fmt.Appendf(nil, "k%d", i%7), pt(int64(w*each+i), 1))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrLimit):
					refused.Add(1)
				default:
					t.Errorf("put: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if _, points := m.Stats(); points != limit || ok.Load() != limit || refused.Load() != writers*each-limit {
		t.Fatalf("stored %d points, %d ok, %d refused; want exactly %d stored", points, ok.Load(), refused.Load(), limit)
	}
}

func TestDropExpired(t *testing.T) {
	var clock testClock
	m := NewMemoryWith(Limits{Retention: 500, Now: clock.now})
	for ts := range int64(2000) {
		clock.set(ts)
		for _, k := range []string{"a", "b"} {
			if err := m.Put([]byte(k), pt(ts, float64(ts))); err != nil {
				t.Fatal(err)
			}
		}
	}
	dropped, err := m.DropExpired()
	if err != nil {
		t.Fatal(err)
	}
	// The clock says 1999: everything before 1499 goes.
	if dropped != 2*1499 {
		t.Fatalf("dropped %d points, want %d", dropped, 2*1499)
	}
	for _, k := range []string{"a", "b"} {
		pts := collectKey(t, m, k)
		if len(pts) != 501 || pts[0].Timestamp != 1499 || pts[500].Timestamp != 1999 {
			t.Fatalf("%s keeps %d points from %d", k, len(pts), pts[0].Timestamp)
		}
	}
	if _, points := m.Stats(); points != 2*501 {
		t.Fatalf("Stats points = %d after the drop, want %d", points, 2*501)
	}
	if n, _ := m.DropExpired(); n != 0 {
		t.Fatalf("a second pass dropped %d points", n)
	}
}

func TestDropExpiredAfterReloadReachesSameState(t *testing.T) {
	var clock testClock
	lim := Limits{Retention: 100, Now: clock.now}
	m := NewMemoryWith(lim)
	for ts := range int64(600) {
		clock.set(ts)
		m.Put([]byte("k"), pt(ts, 1.5))
	}
	// A snapshot taken before the drop, loaded into a fresh engine, ends
	// where the original does once both have dropped.
	loaded := NewMemoryWith(lim)
	if err := m.Snapshot(func(id uint64, key []byte, chunks [][]byte) error {
		return loaded.LoadSeries(id, key, chunks)
	}); err != nil {
		t.Fatal(err)
	}
	m.DropExpired()
	loaded.DropExpired()
	if a, b := fmt.Sprint(collectAll(t, m)), fmt.Sprint(collectAll(t, loaded)); a != b {
		t.Fatalf("after reload and drop:\n%s\nwant\n%s", b, a)
	}
	if err := loaded.Put([]byte("k"), pt(400, 1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("reloaded engine accepted a put older than its window: %v", err)
	}
}

func TestDropExpiredWithoutRetentionDoesNothing(t *testing.T) {
	m := NewMemory()
	m.Put([]byte("k"), pt(-1<<62, 1))
	m.Put([]byte("k"), pt(1<<62, 1))
	if n, err := m.DropExpired(); n != 0 || err != nil {
		t.Fatalf("DropExpired = %d, %v without retention", n, err)
	}
}

func TestExpiredKeyKeepsItsPlaceThroughASnapshot(t *testing.T) {
	var clock testClock
	clock.set(1)
	m := NewMemoryWith(Limits{Retention: 10, Now: clock.now})
	m.Put([]byte("first"), pt(1, 1))
	clock.set(100)
	m.Put([]byte("second"), pt(100, 1))
	m.DropExpired() // "first" is now empty
	loaded := NewMemoryWith(Limits{Retention: 10, Now: clock.now})
	if err := m.Snapshot(func(id uint64, key []byte, chunks [][]byte) error {
		return loaded.LoadSeries(id, key, chunks)
	}); err != nil {
		t.Fatal(err)
	}
	for _, mem := range []*Memory{m, loaded} {
		mem.Put([]byte("first"), pt(101, 2))
		var keys []string
		mem.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil })
		if fmt.Sprint(keys) != "[first second]" {
			t.Fatalf("keys after the expired one came back: %v", keys)
		}
	}
}

func TestResendingASealedPointChangesNothing(t *testing.T) {
	m := NewMemory()
	for ts := range int64(3 * chunkPoints) {
		m.Put([]byte("k"), pt(ts, float64(ts)/4))
	}
	s := m.lookup(m.shardOf([]byte("k")), []byte("k"))
	before := &s.sealed[0].data[0]
	if err := m.Put([]byte("k"), pt(5, 5.0/4)); err != nil {
		t.Fatal(err)
	}
	if &s.sealed[0].data[0] != before {
		t.Fatal("re-putting a stored point re-encoded its chunk")
	}
	if err := m.Put([]byte("k"), pt(5, 7)); err != nil {
		t.Fatal(err)
	}
	if got := collectKey(t, m, "k")[5]; got != pt(5, 7) {
		t.Fatalf("after a changed re-put, point 5 = %v", got)
	}
	if _, points := m.Stats(); points != 3*chunkPoints {
		t.Fatalf("points = %d, want %d", points, 3*chunkPoints)
	}
}

func TestMergePoints(t *testing.T) {
	tests := []struct {
		name      string
		old, late []Point
		want      []Point
		added     int
		changed   bool
	}{
		{"into empty", nil, []Point{pt(1, 1)}, []Point{pt(1, 1)}, 1, true},
		{"before, between, after", []Point{pt(2, 2), pt(4, 4)}, []Point{pt(1, 1), pt(3, 3), pt(5, 5)},
			[]Point{pt(1, 1), pt(2, 2), pt(3, 3), pt(4, 4), pt(5, 5)}, 3, true},
		{"late wins", []Point{pt(1, 1), pt(2, 2)}, []Point{pt(2, 9)}, []Point{pt(1, 1), pt(2, 9)}, 0, true},
		{"same values change nothing", []Point{pt(1, 1), pt(2, 2)}, []Point{pt(1, 1), pt(2, 2)},
			[]Point{pt(1, 1), pt(2, 2)}, 0, false},
	}
	for _, tt := range tests {
		got, added, changed := mergePoints(nil, tt.old, tt.late)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || added != tt.added || changed != tt.changed {
			t.Errorf("%s: mergePoints = %v, %d, %v; want %v, %d, %v", tt.name, got, added, changed, tt.want, tt.added, tt.changed)
		}
	}
}

func TestLatePointsVisibleBeforeTheBufferFills(t *testing.T) {
	m := NewMemory()
	for ts := range int64(2 * chunkPoints) {
		m.Put([]byte("k"), pt(ts*2, 1))
	}
	m.Put([]byte("k"), pt(3, 7)) // a new point in the first sealed chunk
	m.Put([]byte("k"), pt(4, 8)) // a changed one
	got := collectKey(t, m, "k")
	if len(got) != 2*chunkPoints+1 || got[2] != pt(3, 7) || got[3] != pt(4, 8) {
		t.Fatalf("late points not read back: %d points, %v", len(got), got[:5])
	}
	if _, points := m.Stats(); points != 2*chunkPoints+1 {
		t.Fatalf("Stats points = %d, want %d", points, 2*chunkPoints+1)
	}
}

// testClock is a settable wall clock for the time limits, in seconds.
type testClock struct{ t atomic.Int64 }

func (c *testClock) set(sec int64)  { c.t.Store(sec) }
func (c *testClock) now() time.Time { return time.Unix(c.t.Load(), 0) }

// fixedClock is a clock that always says sec.
func fixedClock(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

// TestRetentionFollowsTheClock is issue #11.1: a far-future put does not
// move the window, so later normal puts are kept and nothing real expires.
func TestRetentionFollowsTheClock(t *testing.T) {
	const now, day = 1_800_000_000, 86400
	var clock testClock
	clock.set(now)
	m := NewMemoryWith(Limits{Retention: 30 * day, Now: clock.now})
	mustPut(t, m, "evil", 99999999999, 1)
	mustPut(t, m, "real", now, 1)
	mustPut(t, m, "real", now-29*day, 2)
	if err := m.Put([]byte("real"), pt(now-31*day, 3)); !errors.Is(err, ErrLimit) {
		t.Fatalf("a put older than the clock's window: %v, want refused", err)
	}
	if n, err := m.DropExpired(); n != 0 || err != nil {
		t.Fatalf("DropExpired = %d, %v; want nothing dropped", n, err)
	}
	clock.set(now + 2*day) // the older real point falls out of the window
	if n, _ := m.DropExpired(); n != 1 {
		t.Fatalf("DropExpired two days later dropped %d points, want 1", n)
	}
}

func TestMaxFutureAndKeyLength(t *testing.T) {
	const now = 1_800_000_000
	m := NewMemoryWith(Limits{MaxFuture: 3600, MaxKeyLength: 8, Now: fixedClock(now)})
	mustPut(t, m, "ok", now+3600, 1)
	for _, tt := range []struct {
		key    string
		ts     int64
		future bool
	}{
		{"ms", now * 1000, true}, // a sender of milliseconds
		{"ns", now * 1_000_000_000, true},
		{"hour", now + 3601, true},
		{"toolongkey", now, false},
	} {
		err := m.Put([]byte(tt.key), pt(tt.ts, 1))
		if !errors.Is(err, ErrLimit) || errors.Is(err, ErrFuture) != tt.future {
			t.Errorf("put %s %d: %v; want a limit (future: %v)", tt.key, tt.ts, err, tt.future)
		}
	}
	mustPut(t, m, "8bytes!!", now, 1)
	if series, _ := m.Stats(); series != 2 {
		t.Fatalf("%d series, want 2: a refused put left a key", series)
	}
}

// TestCheckPutRefusesWhatAStoreRefuses checks that CheckPut, which a
// cluster node runs before forwarding a put, refuses exactly the puts that
// a store with the same limits refuses whatever it holds, with the same
// errors.
func TestCheckPutRefusesWhatAStoreRefuses(t *testing.T) {
	l := Limits{MaxKeyLength: 4, Retention: 100, MaxFuture: 10, Now: fixedClock(1000)}
	tests := []struct {
		key     string
		ts      int64
		refused bool
		future  bool
	}{
		{"abcd", 1000, false, false},
		{"abcde", 1000, true, false},
		{"a", 900, false, false},
		{"a", 899, true, false},
		{"a", 1010, false, false},
		{"a", 1011, true, true},
	}
	for _, tt := range tests {
		err := l.CheckPut([]byte(tt.key), tt.ts)
		if tt.refused != (err != nil) || (err != nil && !errors.Is(err, ErrLimit)) || tt.future != errors.Is(err, ErrFuture) {
			t.Errorf("CheckPut(%q, %d) = %v, want refused=%v future=%v", tt.key, tt.ts, err, tt.refused, tt.future)
		}
		stored := NewMemoryWith(l).Put([]byte(tt.key), pt(tt.ts, 1))
		if fmt.Sprint(stored) != fmt.Sprint(err) {
			t.Errorf("key %q ts %d: store says %v, CheckPut %v", tt.key, tt.ts, stored, err)
		}
	}
}
