package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"metricsd/internal/cluster"
	"metricsd/internal/natstest"
)

// TestPausedOwnerNoStaleAnswer SIGSTOPs the owner of a key's partition
// past its lease, writes through another node, and checks that the
// partition fails over (the time is logged: kill to first answer) and that
// no node, the resumed old owner included, answers without the new point.
func TestPausedOwnerNoStaleAnswer(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	js := c.JetStream(t)
	const key = "paused.key"
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	own, err := owners(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	var owner *node
	var others []*node
	for _, n := range nodes {
		if n.Name == own[cluster.PartitionOf([]byte(key), 64)] {
			owner = n
		} else {
			others = append(others, n)
		}
	}
	if owner == nil {
		t.Fatalf("no node owns %s's partition: %v", key, own)
	}
	conns := map[*node]*conn{}
	for _, n := range nodes {
		conns[n] = dial(t, n.addr)
	}
	if ans := conns[owner].mustDo(t, "put "+key+" 1 1"); ans != "ok\n\n" {
		t.Fatalf("put on the owner: %q", ans)
	}
	owner.Pause()
	paused := time.Now()
	if ans := conns[others[0]].mustDo(t, "put "+key+" 2 2"); ans != "ok\n\n" {
		t.Fatalf("put while the owner is paused: %q", ans)
	}
	want := "ok\n" + key + " 1.0 1\n" + key + " 2.0 2\n\n"
	// This get waits inside the cluster until another node has claimed
	// the partition and replayed it.
	if ans := conns[others[1]].mustDo(t, "get "+key); ans != want {
		t.Fatalf("get after the failover: %q, want %q", ans, want)
	}
	t.Logf("failover: %v from SIGSTOP of %s to the first answer for its partition (lease TTL %v)",
		time.Since(paused).Round(time.Millisecond), owner.Name, cluster.DefaultLeaseTTL)
	owner.Continue()
	for round := range 20 {
		for _, n := range nodes {
			if ans := conns[n].mustDo(t, "get "+key); ans != want {
				t.Fatalf("round %d: get on %s after SIGCONT: %q, want %q", round, n.Name, ans, want)
			}
		}
	}
}

// TestBalance checks that the points of 1,000 keys spread within ±10 % of
// total/N over the nodes with 64 partitions, and again after a fourth node
// joins and after a node leaves (SIGTERM).
func TestBalance(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	const keys = 1000
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for w := range 10 {
		cn := dial(t, nodes[w%len(nodes)].addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < keys; k += 10 {
				if ans, err := cn.do(fmt.Sprintf("put balance.key%d 1 1", k)); err != nil || ans != "ok\n\n" {
					errs <- fmt.Errorf("put %d: %q %v", k, ans, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkBalance(t, nodes, keys)

	nodes = append(nodes, startNode(t, c.URLs(), "noded"))
	waitOwners(t, c, nodes, 64)
	checkBalance(t, nodes, keys)

	nodes[0].stop(t)
	nodes = nodes[1:]
	waitOwners(t, c, nodes, 64)
	checkBalance(t, nodes, keys)
}

// checkBalance waits until the nodes' owned points add up to total (the
// partitions that moved have been replayed), then checks each node's share.
func checkBalance(t testing.TB, nodes []*node, total int) {
	t.Helper()
	var counts []int
	waitFor(t, "every point owned once", func() bool {
		counts = counts[:0]
		sum := 0
		for _, n := range nodes {
			p, err := n.points()
			if err != nil {
				return false
			}
			counts = append(counts, p)
			sum += p
		}
		return sum == total
	})
	fair := float64(total) / float64(len(nodes))
	for i, n := range nodes {
		if dev := (float64(counts[i]) - fair) / fair; dev > 0.10 || dev < -0.10 {
			t.Errorf("%s holds %d points, %+.1f%% off the fair %.0f (all: %v)", n.Name, counts[i], 100*dev, fair, counts)
		}
	}
	t.Logf("%d nodes hold %v points (fair share %.0f)", len(nodes), counts, fair)
}
