package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
)

// collect returns what a visit delivered, as series in visit order.
type visited struct {
	key    string
	points []Point
}

func collectAll(t *testing.T, s Storage) []visited {
	t.Helper()
	var out []visited
	err := s.All(func(key []byte, pts []Point) error {
		if n := len(out); n > 0 && out[n-1].key == string(key) {
			out[n-1].points = append(out[n-1].points, pts...)
			return nil
		}
		out = append(out, visited{string(key), slices.Clone(pts)})
		return nil
	})
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	return out
}

func collectKey(t *testing.T, s Storage, key string) []Point {
	t.Helper()
	var out []Point
	err := s.Get([]byte(key), func(k []byte, pts []Point) error {
		if string(k) != key {
			t.Fatalf("Get(%q) visited key %q", key, k)
		}
		out = append(out, pts...)
		return nil
	})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return out
}

func TestMemoryPutGet(t *testing.T) {
	type put struct {
		key string
		ts  int64
		v   float64
	}
	tests := []struct {
		name string
		puts []put
		want []visited
	}{
		{"empty", nil, nil},
		{"in order", []put{{"a", 1, 1}, {"a", 2, 2}, {"a", 3, 3}},
			[]visited{{"a", []Point{pt(1, 1), pt(2, 2), pt(3, 3)}}}},
		{"reverse order sorts", []put{{"a", 3, 3}, {"a", 2, 2}, {"a", 1, 1}},
			[]visited{{"a", []Point{pt(1, 1), pt(2, 2), pt(3, 3)}}}},
		{"middle insert", []put{{"a", 1, 1}, {"a", 5, 5}, {"a", 3, 3}},
			[]visited{{"a", []Point{pt(1, 1), pt(3, 3), pt(5, 5)}}}},
		{"last write wins at tail", []put{{"a", 1, 1}, {"a", 1, 9}},
			[]visited{{"a", []Point{pt(1, 9)}}}},
		{"last write wins in middle", []put{{"a", 1, 1}, {"a", 2, 2}, {"a", 3, 3}, {"a", 2, 7}},
			[]visited{{"a", []Point{pt(1, 1), pt(2, 7), pt(3, 3)}}}},
		{"first insertion order of keys", []put{{"b", 1, 1}, {"a", 1, 1}, {"b", 2, 2}, {"c", 0, 0}},
			[]visited{{"b", []Point{pt(1, 1), pt(2, 2)}}, {"a", []Point{pt(1, 1)}}, {"c", []Point{pt(0, 0)}}}},
		{"extreme timestamps", []put{{"a", math.MaxInt64, 1}, {"a", math.MinInt64, 2}, {"a", 0, 3}},
			[]visited{{"a", []Point{pt(math.MinInt64, 2), pt(0, 3), pt(math.MaxInt64, 1)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			for _, p := range tt.puts {
				if err := m.Put([]byte(p.key), pt(p.ts, p.v)); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			got := collectAll(t, m)
			if !slices.EqualFunc(got, tt.want, func(a, b visited) bool {
				return a.key == b.key && slices.Equal(a.points, b.points)
			}) {
				t.Fatalf("All = %v, want %v", got, tt.want)
			}
			for _, w := range tt.want {
				if got := collectKey(t, m, w.key); !slices.Equal(got, w.points) {
					t.Errorf("Get(%q) = %v, want %v", w.key, got, w.points)
				}
			}
		})
	}
}

func TestMemoryGetMissingKeyVisitsNothing(t *testing.T) {
	m := NewMemory()
	mustPut(t, m, "a", 1, 1)
	if got := collectKey(t, m, "b"); got != nil {
		t.Fatalf("Get(b) = %v, want nothing", got)
	}
}

func TestMemoryNaNStoredAsIs(t *testing.T) {
	m := NewMemory()
	mustPut(t, m, "a", 1, math.NaN())
	got := collectKey(t, m, "a")
	if len(got) != 1 || !math.IsNaN(got[0].Value) {
		t.Fatalf("Get = %v, want one NaN", got)
	}
}

func TestMemoryKeyCopied(t *testing.T) {
	m := NewMemory()
	key := []byte("abc")
	m.Put(key, pt(1, 1))
	copy(key, "xyz")
	if got := collectKey(t, m, "abc"); len(got) != 1 {
		t.Fatalf("series lost after caller reused its key buffer: %v", got)
	}
}

func TestMemoryLongSeriesVisitedInBatches(t *testing.T) {
	m := NewMemory()
	const n = 6*chunkPoints + 7
	for i := n - 1; i >= 0; i-- { // backwards: every put lands before the others
		if err := m.Put([]byte("k"), pt(int64(i), float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	var batches int
	var got []Point
	err := m.Get([]byte("k"), func(_ []byte, pts []Point) error {
		if len(pts) > maxChunkPoints {
			t.Fatalf("batch of %d points, want at most %d", len(pts), maxChunkPoints)
		}
		batches++
		got = append(got, pts...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || batches < n/maxChunkPoints {
		t.Fatalf("got %d points in %d batches, want %d in at least %d", len(got), batches, n, n/maxChunkPoints)
	}
	for i, p := range got {
		if p.Timestamp != int64(i) || p.Value != float64(i) {
			t.Fatalf("point %d is %v", i, p)
		}
	}
}

// TestVisitsStopAtFirstError checks every visiting method: the first
// error from the callback ends the visit and is returned.
func TestVisitsStopAtFirstError(t *testing.T) {
	m := NewMemory()
	mustPut(t, m, "a", 1, 1)
	mustPut(t, m, "b", 1, 1)
	stop := errors.New("stop")
	tests := []struct {
		name  string
		visit func(calls *int) error
	}{
		{"All", func(calls *int) error {
			return m.All(func([]byte, []Point) error { *calls++; return stop })
		}},
		{"Snapshot", func(calls *int) error {
			return m.Snapshot(func(uint64, []byte, [][]byte) error { *calls++; return stop })
		}},
		{"Keys", func(calls *int) error {
			return m.Keys(func([]byte) error { *calls++; return stop })
		}},
	}
	for _, tt := range tests {
		calls := 0
		if err := tt.visit(&calls); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("%s = %v after %d calls, want stop after 1", tt.name, err, calls)
		}
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory()
	const writers, perWriter = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				key := []byte(fmt.Sprintf("k%d", i%10))
				m.Put(key, pt(int64(w*perWriter+i), float64(i)))
			}
		}()
	}
	// Readers run beside the writers; each visit must see sorted points.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				last := map[string]int64{}
				m.All(func(k []byte, pts []Point) error {
					prev, seen := last[string(k)]
					for _, p := range pts {
						if seen && p.Timestamp <= prev {
							t.Errorf("series %s out of order: %d after %d", k, p.Timestamp, prev)
						}
						prev, seen = p.Timestamp, true
					}
					last[string(k)] = prev
					return nil
				})
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, v := range collectAll(t, m) {
		total += len(v.points)
	}
	if total != writers*perWriter {
		t.Fatalf("stored %d points, want %d", total, writers*perWriter)
	}
}
