package store

import (
	"errors"
	"math"
	"testing"

	"metricsd/internal/chunkenc"
)

// TestMemoryEncoded: the encoded chunks decode to exactly the points a Get
// visits, a late point merged first; from a timestamp, the chunks hold
// every point after it, and none that ends at or before it.
func TestMemoryEncoded(t *testing.T) {
	m := NewMemory()
	const n = 3*chunkPoints + 5
	for i := range n {
		if err := m.Put([]byte("k"), pt(int64(i)-10, float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	// A late point for the first sealed chunk, not merged yet.
	if err := m.Put([]byte("k"), pt(-10, 99)); err != nil {
		t.Fatal(err)
	}
	all := collectKey(t, m, "k")
	for _, tc := range []struct {
		name  string
		after int64
		first bool
	}{
		{"every chunk", 0, true},
		{"before every point", math.MinInt64, false},
		{"in the first chunk, negative", -5, false},
		{"at a chunk boundary", int64(chunkPoints) - 11, false},
		{"in the head", int64(n) - 13, false},
		{"at the last point", int64(n) - 11, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Point
			chunks := 0
			err := m.Encoded([]byte("k"), tc.after, tc.first, func(key, chunk []byte, last int64) error {
				if string(key) != "k" {
					t.Fatalf("key %q", key)
				}
				if !tc.first && last <= tc.after {
					t.Fatalf("a chunk ending at %d, not after %d", last, tc.after)
				}
				pts, err := chunkenc.Decode(nil, chunk)
				if err != nil {
					t.Fatal(err)
				}
				if pts[len(pts)-1].Timestamp != last {
					t.Fatalf("chunk ends at %d, said %d", pts[len(pts)-1].Timestamp, last)
				}
				chunks++
				for _, p := range pts {
					if tc.first || p.Timestamp > tc.after {
						got = append(got, p)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []Point
			for _, p := range all {
				if tc.first || p.Timestamp > tc.after {
					want = append(want, p)
				}
			}
			if len(got) != len(want) || (len(want) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
				t.Fatalf("%d points in %d chunks, want %d", len(got), chunks, len(want))
			}
		})
	}
	stop := errors.New("stop")
	if err := m.Encoded([]byte("k"), 0, true, func([]byte, []byte, int64) error { return stop }); err != stop {
		t.Fatalf("fn's error: %v", err)
	}
	if err := m.Encoded([]byte("missing"), 0, true, func([]byte, []byte, int64) error {
		t.Fatal("a missing key was visited")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
