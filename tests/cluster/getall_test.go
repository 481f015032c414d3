package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"metricsd/internal/cluster"
	"metricsd/internal/natstest"
)

// readChunk is the nodes' --cluster-read-chunk in these tests: the
// smallest, so that a few thousand points take many chunks.
const readChunk = "512"

// The data set of the streaming tests: a long series first, then
// keysPerPartition keys in each of the 64 partitions, of streamPoints
// points each. Keys are 300 bytes long, so that every record of an
// owner's answer (a key and an encoded chunk) takes more than half a
// chunk: every partition answers in at least 2 chunks, the long series'
// partition in several more, and the answer (about 800 KB) is much larger
// than what the sockets buffer, so a node can be killed while it is
// being written.
const (
	keysPerPartition = 2
	streamPoints     = 10
	longPoints       = 1200
	streamKeyLen     = 300
)

// streamKeys are the keys: the first names of the form stream.xxx....N
// that fill each partition with keysPerPartition of them.
var streamKeys = func() []string {
	var keys []string
	count := make(map[int]int)
	for i := 0; len(keys) < 64*keysPerPartition; i++ {
		suffix := fmt.Sprintf(".%05d", i)
		k := "stream." + strings.Repeat("x", streamKeyLen-len("stream.")-len(suffix)) + suffix
		if p := cluster.PartitionOf([]byte(k), 64); count[p] < keysPerPartition {
			count[p]++
			keys = append(keys, k)
		}
	}
	return keys
}()

// longKey's series comes first in the answer and takes about 370 KB of
// it, far more than the sockets buffer: a node killed after the first
// 4 KB of the answer still has most of it to send.
var longKey = "stream.long." + strings.Repeat("y", streamKeyLen-len("stream.long."))

// loadStreamData puts the data set through the nodes and into the single
// server ref: every key's first point in a fixed order (the keys' first
// insertion), then the other points from two clients per node at once,
// each (key, timestamp) written by one client only, so the last write of
// each is the same on both sides.
func loadStreamData(t *testing.T, nodes []*node, ref *conn) {
	t.Helper()
	first := append([]string{longKey}, streamKeys...)
	var conns []*conn
	for _, n := range nodes {
		conns = append(conns, dial(t, n.addr))
	}
	for i, k := range first {
		line := fmt.Sprintf("put %s %d.5 0", k, i)
		if got := conns[i%len(conns)].mustDo(t, line); got != "ok\n\n" {
			t.Fatalf("%q: %q", line, got)
		}
		ref.mustDo(t, line)
	}
	const clients = 6
	work := make([][]string, clients)
	for ts := 1; ts < longPoints; ts++ {
		work[0] = append(work[0], fmt.Sprintf("put %s %d %d", longKey, ts*3, ts))
	}
	for i, k := range streamKeys {
		c := 1 + i%(clients-1)
		for ts := 1; ts < streamPoints; ts++ {
			work[c] = append(work[c], fmt.Sprintf("put %s %d.25 %d", k, i*100+ts, ts*10-75))
		}
		// An overwrite, by the same client: last write wins.
		work[c] = append(work[c], fmt.Sprintf("put %s -1 %d", k, 10-75))
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		cn := dial(t, nodes[c%len(nodes)].addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, line := range work[c] {
				if got, err := cn.do(line); err != nil || got != "ok\n\n" {
					errs <- fmt.Errorf("%q: %q %v", line, got, err)
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
	for _, lines := range work {
		for _, line := range lines {
			ref.mustDo(t, line)
		}
	}
}

// startStreamCluster starts 3 NATS servers and 3 nodes with the smallest
// read chunk, and the single server to compare with, loaded alike.
func startStreamCluster(t *testing.T) (*natstest.Cluster, []*node, *conn) {
	c := natstest.Start(t, 3)
	var nodes []*node
	for i := range 3 {
		nodes = append(nodes, startNode(t, c.URLs(), fmt.Sprintf("node%c", 'a'+i), "--cluster-read-chunk", readChunk))
	}
	waitOwners(t, c, nodes, 64)
	ref := dial(t, startSingle(t))
	loadStreamData(t, nodes, ref)
	return c, nodes, ref
}

// TestGetAllStreaming loads one data set, with answers in chunks of 512
// bytes (at least 2 for every partition, more for the long series'), then:
//
//   - like-single-server: `get *` on every node is byte for byte the single
//     server's, and so is a get of the long series;
//   - owner-moves-mid-answer: while a node writes a `get *` answer (its
//     client reads slowly), the owner of the long series' partition is
//     SIGKILLed (round 1) or leaves with SIGTERM, handing its leases over
//     (round 2). The answer is then the single server's, byte for byte, or
//     a correct beginning of it cut by a closed connection: never a wrong
//     one. Afterwards every node answers it whole.
func TestGetAllStreaming(t *testing.T) {
	c, nodes, ref := startStreamCluster(t)
	want := ref.mustDo(t, "get *")
	if lines := strings.Count(want, "\n"); lines != 2+longPoints+len(streamKeys)*streamPoints {
		t.Fatalf("the single server's get * has %d lines", lines)
	}
	t.Run("like-single-server", func(t *testing.T) {
		wantLong := ref.mustDo(t, "get "+longKey)
		for _, n := range nodes {
			cn := dial(t, n.addr)
			if got := cn.mustDo(t, "get *"); got != want {
				t.Errorf("get * on %s differs from the single server's: %s", n.Name, firstLineDiff(got, want))
			}
			if got := cn.mustDo(t, "get "+longKey); got != wantLong {
				t.Errorf("get %s on %s differs from the single server's: %s", longKey, n.Name, firstLineDiff(got, wantLong))
			}
		}
	})
	t.Run("owner-moves-mid-answer", func(t *testing.T) { ownerMovesMidAnswer(t, c, nodes, want) })
}

func ownerMovesMidAnswer(t *testing.T, c *natstest.Cluster, nodes []*node, want string) {
	js := c.JetStream(t)
	longPart := cluster.PartitionOf([]byte(longKey), 64)
	for round, how := range []string{"SIGKILL", "SIGTERM"} {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		own, err := owners(ctx, js)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		victim := -1
		for i, n := range nodes {
			if own[longPart] == n.Name {
				victim = i
			}
		}
		if victim < 0 {
			t.Fatalf("no node owns partition %d: %v", longPart, own)
		}
		reader := (victim + 1) % len(nodes)

		cn := dialSmallBuffer(t, nodes[reader].addr)
		if _, err := io.WriteString(cn, "get *\n"); err != nil {
			t.Fatal(err)
		}
		cn.SetDeadline(time.Now().Add(2 * testTimeout))
		got := make([]byte, 4096)
		if _, err := io.ReadFull(cn, got); err != nil {
			t.Fatalf("the start of get *: %v", err)
		}
		if how == "SIGKILL" {
			nodes[victim].Kill()
		} else {
			nodes[victim].stop(t)
		}
		rest, err := readBytes(cn, len(want)-len(got))
		got = append(got, rest...)
		switch {
		case string(got) == want:
			t.Logf("round %d: %s of %s (owner of the long series) mid-answer: the answer on %s is complete and equal", round, how, nodes[victim].Name, nodes[reader].Name)
		case err != nil && strings.HasPrefix(want, string(got)):
			t.Logf("round %d: %s of %s mid-answer: %s closed the connection after %d of %d bytes, all correct (%v)", round, how, nodes[victim].Name, nodes[reader].Name, len(got), len(want), err)
		default:
			t.Fatalf("round %d: %s of %s mid-answer: the answer on %s is wrong (%d bytes, %v): %s", round, how, nodes[victim].Name, nodes[reader].Name, len(got), err, firstLineDiff(string(got), want))
		}
		cn.Close()
		nodes[victim] = startNode(t, c.URLs(), nodes[victim].Name, "--cluster-read-chunk", readChunk)
		waitOwners(t, c, nodes, 64)
	}
	for _, n := range nodes {
		if got := dial(t, n.addr).mustDo(t, "get *"); got != want {
			t.Errorf("get * on %s after the moves: %s", n.Name, firstLineDiff(got, want))
		}
	}
}

// dialSmallBuffer connects with a small receive buffer, so that a reader
// that pauses holds the server's answer back soon.
func dialSmallBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: testTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readBytes reads n bytes, or fewer when the connection is closed (or
// the deadline passes) first.
func readBytes(c net.Conn, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 32<<10)
	for len(out) < n {
		k, err := c.Read(buf[:min(len(buf), n-len(out))])
		out = append(out, buf[:k]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return out, err
		}
	}
	return out, nil
}

// firstLineDiff describes where two answers part.
func firstLineDiff(got, want string) string {
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d is %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
