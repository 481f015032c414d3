package store

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// keysOf lists m's keys in first-insertion order.
func keysOf(t *testing.T, m *Memory) string {
	t.Helper()
	var keys []string
	if err := m.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	return strings.Join(keys, " ")
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		match   func(key string) bool
		deleted int
		keys    string // after the delete and a put of "a.x" again
		points  int
	}{
		{"nothing", func(string) bool { return false }, 0, "a.x a.y b.x c", 7},
		{"one key", func(k string) bool { return k == "a.x" }, 1, "a.y b.x c a.x", 5},
		{"a prefix", func(k string) bool { return strings.HasPrefix(k, "a.") }, 2, "b.x c a.x", 4},
		{"everything", func(string) bool { return true }, 4, "a.x", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemoryWith(Limits{MaxPoints: 100, MaxSeries: 4})
			for i, k := range []string{"a.x", "a.y", "b.x", "c", "a.x", "c"} {
				if err := m.Put([]byte(k), Point{Timestamp: int64(i), Value: 1}); err != nil {
					t.Fatal(err)
				}
			}
			n, err := m.Delete(func(k []byte) bool { return tt.match(string(k)) })
			if err != nil || n != tt.deleted {
				t.Fatalf("Delete = %d, %v; want %d", n, err, tt.deleted)
			}
			if err := m.Put([]byte("a.x"), Point{Timestamp: 100, Value: 2}); err != nil {
				t.Fatalf("Put after Delete: %v", err) // MaxSeries counts live series only
			}
			if got := keysOf(t, m); got != tt.keys {
				t.Errorf("keys = %q, want %q", got, tt.keys)
			}
			if _, points := m.Stats(); points != tt.points {
				t.Errorf("points = %d, want %d", points, tt.points)
			}
			if got := m.total.Load(); got != int64(tt.points) {
				t.Errorf("points counted under MaxPoints = %d, want %d", got, tt.points)
			}
			var old int
			m.Get([]byte("a.x"), func(_ []byte, pts []Point) error { old += len(pts); return nil })
			if tt.deleted > 0 && tt.match("a.x") && old != 1 {
				t.Errorf("a.x after delete and put has %d points, want only the new one", old)
			}
		})
	}
}

// TestDeleteBesidePuts runs deletes beside puts to the same keys: every
// put that returns ok after the last delete must be visible, and nothing
// is counted twice (run with -race).
func TestDeleteBesidePuts(t *testing.T) {
	m := NewMemoryWith(Limits{MaxPoints: 1 << 20})
	const writers, puts = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range puts {
				if err := m.Put(fmt.Appendf(nil, "k%d", i%8), Point{Timestamp: int64(w*puts + i), Value: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 20 {
		if _, err := m.Delete(func(k []byte) bool { return k[1]%2 == 0 }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	m.Delete(func([]byte) bool { return true })
	if series, points := m.Stats(); series != 0 || points != 0 || m.total.Load() != 0 {
		t.Fatalf("after deleting everything: %d series, %d points, %d counted", series, points, m.total.Load())
	}
	if err := m.Put([]byte("k0"), Point{Timestamp: 1, Value: 1}); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, m); got != "k0" {
		t.Fatalf("keys = %q", got)
	}
}
