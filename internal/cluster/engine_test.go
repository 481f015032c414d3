package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// TestOrderAndReadYourWrites: keys first put through different nodes are
// listed by every node in first-insertion order, and a put acknowledged on
// one node is seen by a get on any other, with no violation in 1,000
// randomized trials.
func TestOrderAndReadYourWrites(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := openNodes(t, c, 3, 16)
	for i, key := range []string{"k1", "k2", "k3"} {
		if err := nodes[i].Put([]byte(key), store.Point{Timestamp: 1, Value: float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range nodes {
		var keys []string
		for _, s := range getAll(t, e) {
			keys = append(keys, s.key)
		}
		if !slices.Equal(keys, []string{"k1", "k2", "k3"}) {
			t.Errorf("get * on %s lists %v, want [k1 k2 k3]", e.cfg.Node, keys)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	violations := 0
	for trial := range 1000 {
		key := fmt.Sprintf("ryw.%d", rng.IntN(50))
		x, y := nodes[rng.IntN(3)], nodes[rng.IntN(3)]
		p := store.Point{Timestamp: int64(trial), Value: float64(trial) + 0.5}
		if err := x.Put([]byte(key), p); err != nil {
			t.Fatalf("trial %d: put on %s: %v", trial, x.cfg.Node, err)
		}
		got := getKey(t, y, key)
		if !slices.Contains(got, p) {
			violations++
			t.Errorf("trial %d: %s put %v on %s, get on %s misses it", trial, key, p, x.cfg.Node, y.cfg.Node)
		}
	}
	if violations > 0 {
		t.Errorf("%d read-your-writes violations in 1000 trials", violations)
	}
}
