package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"metricsd/internal/cluster"
	"metricsd/internal/natstest"
)

// The failover test's size: the 1 M points per node.
const (
	failoverNodes     = 3
	failoverKeys      = 1000
	failoverPerKey    = 3000 // points a key: 3 M in all, 1 M per node
	failoverBound     = 10 * time.Second
	failoverPartition = 64
)

// failoverValue is the value put at (key k, timestamp ts), so that the
// check needs no copy of what was put.
func failoverValue(k, ts int) string { return strconv.Itoa(k*7+ts%13) + ".5" }

// TestFailoverMillionPointsPerNode is issue #15's test 6: 3 nodes hold
// 3 M points (1 M each, put through every node over pipelined sessions),
// one node is SIGKILLed, and the time from the kill to the first
// successful get, on another node, of a key in one of the dead node's
// partitions is measured (logged) and bounded by the 10 s. The
// answer must hold every point of the key, and afterwards `get *` on a
// survivor holds all 3 M. New owners load their partitions' snapshots
// from the Object Store and replay only the stream after them.
func TestFailoverMillionPointsPerNode(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3 M points")
	}
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, failoverNodes)
	start := time.Now()
	loadFailover(t, nodes)
	t.Logf("put %d points through %d nodes in %v", failoverKeys*failoverPerKey, len(nodes), time.Since(start).Round(time.Millisecond))

	victim := nodes[0]
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout) // the waits below
	defer cancel()
	// The owners snapshot as they apply, and purge the streams behind
	// their snapshots: the streams hold fewer messages than were
	// published.
	waitFor(t, "the streams purged behind snapshots", func() bool {
		var held, published uint64
		for i := range 6 {
			st, err := js.Stream(ctx, fmt.Sprintf("METRICSD_%d", i))
			if err != nil {
				return false
			}
			held += st.CachedInfo().State.Msgs
			published += st.CachedInfo().State.LastSeq
		}
		return held < published
	})
	own, err := owners(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	probe := -1
	for k := range failoverKeys {
		if own[cluster.PartitionOf([]byte(failoverKey(k)), failoverPartition)] == victim.Name {
			probe = k
			break
		}
	}
	if probe < 0 {
		t.Fatalf("no key in a partition of %s", victim.Name)
	}
	// Every partition of the victim has a snapshot for its next owner to
	// load.
	snaps, err := js.ObjectStore(ctx, "metricsd-snapshots")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a snapshot of every partition of "+victim.Name, func() bool {
		infos, err := snaps.List(ctx)
		if err != nil {
			return false
		}
		snapshotted := map[string]bool{}
		for _, info := range infos {
			p, _, _ := strings.Cut(strings.TrimPrefix(info.Name, "p"), ".")
			snapshotted[p] = true
		}
		for p, owner := range own {
			if owner == victim.Name && !snapshotted[strconv.Itoa(p)] {
				return false
			}
		}
		return true
	})
	// Ask the survivor once before the kill, so the measured get needs no
	// new connection and its key's owner is known.
	survivor := dial(t, nodes[1].addr)
	checkKey(t, survivor.mustDo(t, "get "+failoverKey(probe)), probe)

	killed := time.Now()
	victim.Signal(syscall.SIGKILL)
	var answered time.Duration
	for {
		ans, err := survivor.do("get " + failoverKey(probe))
		if err != nil {
			t.Fatalf("get after the kill: %v", err)
		}
		if strings.HasPrefix(ans, "ok\n") {
			answered = time.Since(killed)
			checkKey(t, ans, probe)
			break
		}
		if time.Since(killed) > testTimeout {
			t.Fatalf("no answer for %s %v after the kill: %q", failoverKey(probe), testTimeout, ans)
		}
	}
	victim.Wait()
	t.Logf("failover: SIGKILL of %s to the first successful get of its partition on %s: %v (bound %v)",
		victim.Name, nodes[1].Name, answered.Round(time.Millisecond), failoverBound)
	if answered > failoverBound {
		t.Errorf("failover took %v, over the issue's bound of %v", answered, failoverBound)
	}
	checkEveryPoint(t, nodes[2].addr)
}

func failoverKey(k int) string { return "failover.k" + strconv.Itoa(k) }

// loadFailover puts every point, each node taking a third of the keys over
// 4 pipelined sessions.
func loadFailover(t *testing.T, nodes []*node) {
	const sessions = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*sessions)
	for i, n := range nodes {
		for s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var keys []int
				for k := i*sessions + s; k < failoverKeys; k += len(nodes) * sessions {
					keys = append(keys, k)
				}
				if err := putPipelined(n.addr, keys); err != nil {
					errs <- fmt.Errorf("%s: %w", n.Name, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// putPipelined puts every point of keys over one connection, writing
// while it reads the answers, and checks each is ok.
func putPipelined(addr string, keys []int) error {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	werr := make(chan error, 1)
	go func() {
		// Lines are appended by hand: the test runs under -race, where
		// fmt for 3 M lines would take longer than the cluster does.
		w := bufio.NewWriterSize(c, 64<<10)
		var line []byte
		for ts := range failoverPerKey {
			for _, k := range keys {
				line = append(line[:0], "put failover.k"...)
				line = strconv.AppendInt(line, int64(k), 10)
				line = append(line, ' ')
				line = strconv.AppendInt(line, int64(k*7+ts%13), 10)
				line = append(line, ".5 "...)
				line = strconv.AppendInt(line, int64(ts), 10)
				line = append(line, '\n')
				if _, err := w.Write(line); err != nil {
					werr <- err
					return
				}
			}
		}
		werr <- w.Flush()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for i := range 2 * failoverPerKey * len(keys) { // "ok" and the empty line
		l, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("answer %d: %w", i/2, err)
		}
		if want := [2]string{"ok\n", "\n"}[i%2]; string(l) != want {
			return fmt.Errorf("answer %d: %q", i/2, l)
		}
	}
	return <-werr
}

// checkKey checks a get answer holds every point of key k.
func checkKey(t *testing.T, ans string, k int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(ans, "\n\n"), "\n")
	if lines[0] != "ok" || len(lines) != failoverPerKey+1 {
		t.Fatalf("get %s: %d lines, want ok and %d points", failoverKey(k), len(lines), failoverPerKey)
	}
	for ts, l := range lines[1:] {
		if want := fmt.Sprintf("%s %s %d", failoverKey(k), failoverValue(k, ts), ts); l != want {
			t.Fatalf("get %s: point %d is %q, want %q", failoverKey(k), ts, l, want)
		}
	}
}

// checkEveryPoint reads `get *` from addr and checks it holds every point
// of every key, in first-insertion order per key's points.
func checkEveryPoint(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(c, "get *\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(c, 1<<20)
	if l, err := r.ReadString('\n'); err != nil || l != "ok\n" {
		t.Fatalf("get *: %q, %v", l, err)
	}
	next := make(map[int]int, failoverKeys) // key → next timestamp expected
	total := 0
	var want []byte
	for {
		l, err := r.ReadSlice('\n')
		if err != nil {
			t.Fatalf("get * after %d points: %v", total, err)
		}
		if len(l) == 1 {
			break
		}
		// The key's number, then the whole line as it must be.
		rest, ok := bytes.CutPrefix(l, []byte("failover.k"))
		sp := bytes.IndexByte(rest, ' ')
		k, err := strconv.Atoi(string(rest[:max(sp, 0)]))
		if !ok || err != nil {
			t.Fatalf("get *: line %q", l)
		}
		ts := next[k]
		want = append(want[:0], "failover.k"...)
		want = strconv.AppendInt(want, int64(k), 10)
		want = append(want, ' ')
		want = append(want, failoverValue(k, ts)...)
		want = append(want, ' ')
		want = strconv.AppendInt(want, int64(ts), 10)
		want = append(want, '\n')
		if !bytes.Equal(l, want) {
			t.Fatalf("get *: %q, want %q", l, want)
		}
		next[k] = ts + 1
		total++
	}
	if total != failoverKeys*failoverPerKey || len(next) != failoverKeys {
		t.Fatalf("get *: %d points of %d keys, want %d of %d", total, len(next), failoverKeys*failoverPerKey, failoverKeys)
	}
}
