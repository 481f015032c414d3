package cluster

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// TestGetAllWhileWriting: two nodes answering in the smallest chunks,
// writers on both putting to 40 keys all along, and `get *` and Keys
// read again and again on both: every read lists the keys in their
// first-insertion order with each series' timestamps ascending and
// unique, and holds every point acknowledged before it started
// (read-your-writes with one barrier per partition, however many chunks
// follow).
func TestGetAllWhileWriting(t *testing.T) {
	c := natstest.Start(t, 3)
	small := func(cfg *Config) { cfg.ReadChunk = MinReadChunk }
	nodes := []*Engine{openNode(t, c.URLs(), "nodea", 8, small), openNode(t, c.URLs(), "nodeb", 8, small)}
	waitBalanced(t, nodes)
	const keys = 40
	key := func(i int) string { return fmt.Sprintf("live.%02d", i) }
	for i := range keys { // the first-insertion order: live.00, live.01...
		if err := nodes[i%2].Put([]byte(key(i)), store.Point{Timestamp: 0, Value: 0}); err != nil {
			t.Fatal(err)
		}
	}
	// acked[i] is the highest timestamp acknowledged for key i: writer i%4
	// puts key i's timestamps in ascending order.
	var acked [keys]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ts := int64(1); ; ts++ {
				for i := w; i < keys; i += 4 {
					select {
					case <-stop:
						return
					default:
					}
					if err := nodes[(w+i)%2].Put([]byte(key(i)), store.Point{Timestamp: ts, Value: float64(ts)}); err != nil {
						t.Error(err)
						return
					}
					acked[i].Store(ts)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	total := func() (n int64) {
		for i := range acked {
			n += acked[i].Load()
		}
		return n
	}
	for round := range 6 {
		// Enough new points between reads that the partitions' answers
		// take several chunks of 512 bytes.
		want := total() + 250
		waitFor(t, "more acknowledged puts", func() bool { return total() >= want })
		e := nodes[round%2]
		var before [keys]int64
		for i := range before {
			before[i] = acked[i].Load()
		}
		got := getAll(t, e)
		if len(got) != keys {
			t.Fatalf("round %d: get * on %s lists %d series, want %d", round, e.cfg.Node, len(got), keys)
		}
		for i, s := range got {
			if s.key != key(i) {
				t.Fatalf("round %d: series %d is %q, want %q", round, i, s.key, key(i))
			}
			if !slices.IsSortedFunc(s.points, func(a, b store.Point) int { return int(a.Timestamp - b.Timestamp) }) {
				t.Fatalf("round %d: %s's timestamps out of order", round, s.key)
			}
			for k := 1; k < len(s.points); k++ {
				if s.points[k].Timestamp == s.points[k-1].Timestamp {
					t.Fatalf("round %d: %s has timestamp %d twice", round, s.key, s.points[k].Timestamp)
				}
			}
			if last := s.points[len(s.points)-1].Timestamp; last < before[i] || int64(len(s.points)) < before[i]+1 {
				t.Fatalf("round %d: %s ends at %d with %d points; %d was acknowledged before the read", round, s.key, last, len(s.points), before[i])
			}
		}
		var listed []string
		if err := e.Keys(func(k []byte) error { listed = append(listed, string(k)); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(listed) != keys {
			t.Fatalf("round %d: Keys lists %d keys, want %d", round, len(listed), keys)
		}
		for i, k := range listed {
			if k != key(i) {
				t.Fatalf("round %d: Keys lists %q at %d", round, k, i)
			}
		}
		points := 0
		for _, s := range got {
			points += len(s.points)
		}
		t.Logf("round %d on %s: %d points", round, e.cfg.Node, points)
	}
}
