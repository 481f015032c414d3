package cluster

import (
	"errors"
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

// TestSingleServerLayout: on a NATS server without clustering the node
// keeps one copy (R1) instead of failing, and a node joining later with
// another partition count takes the one stored when the cluster was
// created.
func TestSingleServerLayout(t *testing.T) {
	c := natstest.Start(t, 1)
	a := openNode(t, c.URLs(), "a", 8)
	if a.replicas != 1 {
		t.Errorf("replicas %d on a lone server, want 1", a.replicas)
	}
	b := openNode(t, c.URLs(), "b", 64)
	if b.Partitions() != 8 {
		t.Errorf("joining node uses %d partitions, want the stored 8", b.Partitions())
	}
	waitBalanced(t, []*Engine{a, b})
	if err := b.Put([]byte("k"), store.Point{Timestamp: 1, Value: 2}); err != nil {
		t.Fatal(err)
	}
	if got := getKey(t, a, "k"); !slices.Equal(got, []store.Point{{Timestamp: 1, Value: 2}}) {
		t.Errorf("get on a: %v", got)
	}
	var keys []string
	if err := a.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil }); err != nil || !slices.Equal(keys, []string{"k"}) {
		t.Errorf("Keys on a: %q, %v", keys, err)
	}
	if err := b.Ready(); err != nil {
		t.Errorf("Ready on a joined node: %v", err)
	}
	// A graceful leave hands the partitions over at once.
	b.Close()
	if err := b.Ready(); err == nil {
		t.Error("Ready on a closed node: nil")
	}
	waitBalanced(t, []*Engine{a})
	if got := getKey(t, a, "k"); !slices.Equal(got, []store.Point{{Timestamp: 1, Value: 2}}) {
		t.Errorf("get on a after b left: %v", got)
	}
	// What a client is told is one fixed text.
	if err := b.Put([]byte("k"), store.Point{Timestamp: 2, Value: 2}); !errors.Is(err, ErrUnavailable) || err.Error() != "cluster unavailable" {
		t.Errorf("put on a closed node: %v, want %v", err, ErrUnavailable)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{URLs: []string{"nats://127.0.0.1:4222"}, Node: "n1"}
	f := func(name string, mutate func(*Config), wantErr bool) {
		t.Helper()
		c := ok
		mutate(&c)
		if err := c.Validate(); (err != nil) != wantErr {
			t.Errorf("%s: Validate() = %v, want error %v", name, err, wantErr)
		}
	}
	f("valid", func(*Config) {}, false)
	f("no URL", func(c *Config) { c.URLs = nil }, true)
	f("not nats://", func(c *Config) { c.URLs = []string{"127.0.0.1:4222"} }, true)
	f("no node", func(c *Config) { c.Node = "" }, true)
	f("node with a dot", func(c *Config) { c.Node = "a.b" }, true)
	f("node with a space", func(c *Config) { c.Node = "a b" }, true)
	f("negative partitions", func(c *Config) { c.Partitions = -1 }, true)
	f("too many partitions", func(c *Config) { c.Partitions = MaxPartitions + 1 }, true)
	f("negative TTL", func(c *Config) { c.LeaseTTL = -1 }, true)
	c := ok
	if err := c.Validate(); err != nil || c.Partitions != DefaultPartitions || c.LeaseTTL != DefaultLeaseTTL || c.Logger == nil {
		t.Errorf("defaults not filled: %+v, %v", c, err)
	}
	if got := ParseURLs(" nats://a:1, ,nats://b:2 "); !slices.Equal(got, []string{"nats://a:1", "nats://b:2"}) {
		t.Errorf("ParseURLs: %q", got)
	}
}
