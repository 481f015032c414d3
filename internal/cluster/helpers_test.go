package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// testTTL is the lease TTL of test nodes: short, so failover tests are
// quick, long enough for a loaded shared machine.
const testTTL = 1500 * time.Millisecond

// openNode starts a node on the NATS servers urls, closed when the test
// ends; opts adjust its Config.
func openNode(t testing.TB, urls, name string, partitions int, opts ...func(*Config)) *Engine {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("CLUSTER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	cfg := Config{
		URLs:       ParseURLs(urls),
		Node:       name,
		Partitions: partitions,
		LeaseTTL:   testTTL,
		OpTimeout:  20 * time.Second,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", name),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open node %s: %v", name, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// openNodes starts n nodes a, b, c... on c's servers and waits until every
// partition has an owner that every node knows.
func openNodes(t testing.TB, c *natstest.Cluster, n, partitions int, opts ...func(*Config)) []*Engine {
	t.Helper()
	var nodes []*Engine
	for i := range n {
		nodes = append(nodes, openNode(t, c.URLs(), fmt.Sprintf("node%c", 'a'+i), partitions, opts...))
	}
	waitBalanced(t, nodes)
	return nodes
}

// waitBalanced waits until the nodes own every partition between them,
// each within one of P/N, and every node names the same owners.
func waitBalanced(t testing.TB, nodes []*Engine) {
	t.Helper()
	waitFor(t, "partitions balanced over the nodes", func() bool {
		parts := nodes[0].Partitions()
		total := 0
		for _, e := range nodes {
			owned := e.Owned()
			if owned < parts/len(nodes) || owned > (parts+len(nodes)-1)/len(nodes) {
				return false
			}
			total += owned
		}
		if total != parts {
			return false
		}
		for p := range parts {
			owner := nodes[0].lease.ownerOf(p)
			for _, e := range nodes[1:] {
				if e.lease.ownerOf(p) != owner {
					return false
				}
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (cluster convergence takes a few lease ticks).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not a wait for an event
	}
}

type gotSeries struct {
	key    string
	points []store.Point
}

// getAll is e.All gathered.
func getAll(t testing.TB, e *Engine) []gotSeries {
	t.Helper()
	var out []gotSeries
	err := e.All(func(key []byte, points []store.Point) error {
		if len(out) > 0 && out[len(out)-1].key == string(key) {
			out[len(out)-1].points = append(out[len(out)-1].points, points...)
			return nil
		}
		out = append(out, gotSeries{key: string(key), points: append([]store.Point(nil), points...)})
		return nil
	})
	if err != nil {
		t.Fatalf("All on %s: %v", e.cfg.Node, err)
	}
	return out
}

// getKey is e.Get gathered.
func getKey(t testing.TB, e *Engine, key string) []store.Point {
	t.Helper()
	var out []store.Point
	if err := e.Get([]byte(key), func(_ []byte, points []store.Point) error {
		out = append(out, points...)
		return nil
	}); err != nil {
		t.Fatalf("Get %q on %s: %v", key, e.cfg.Node, err)
	}
	return out
}
