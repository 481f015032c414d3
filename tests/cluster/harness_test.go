package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
	"metricsd/internal/testproc"
)

// bin is the metricsd binary that TestMain builds: without -race unless
// METRICSD_TEST_RACE=1 (testproc.BuildFlags says why).
var bin *testproc.Binary

// testTimeout bounds every single wait of the harness.
const testTimeout = 30 * time.Second

func TestMain(m *testing.M) { testproc.Main(m, "metricsd/cmd/metricsd", &bin) }

// node is a running `metricsd serve --cluster` process.
type node struct {
	*testproc.Proc
	addr     string // protocol
	httpAddr string
}

// startNode runs a cluster node called name on the NATS servers urls and
// waits until it listens.
func startNode(t testing.TB, urls, name string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--cluster", urls, "--node", name}, extra...)
	if os.Getenv("CLUSTER_DEBUG") != "" {
		args = append(args, "--log-level", "debug")
	}
	return run(t, testproc.Spec{Name: name, Args: args, Listen: []string{"metricsd", "http"}})
}

// run starts a metricsd process as spec says and waits until it listens.
func run(t testing.TB, spec testproc.Spec) *node {
	t.Helper()
	spec.Timeout, spec.LogTail = testTimeout, 60
	p, err := testproc.Start(t, bin.Path, spec)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{Proc: p}
	for _, l := range spec.Listen {
		addr, err := p.Addr(l)
		if err != nil {
			t.Fatal(err)
		}
		switch l {
		case "metricsd":
			n.addr = addr
		case "http":
			n.httpAddr = addr
		}
	}
	return n
}

// startNodes starts nodes a, b, c... and waits until they own the
// partitions evenly.
func startNodes(t testing.TB, c *natstest.Cluster, count int) []*node {
	t.Helper()
	var nodes []*node
	for i := range count {
		nodes = append(nodes, startNode(t, c.URLs(), fmt.Sprintf("node%c", 'a'+i)))
	}
	waitOwners(t, c, nodes, 64)
	return nodes
}

// stop sends SIGTERM (a graceful leave) and waits for the exit.
func (n *node) stop(t testing.TB) {
	t.Helper()
	if err := n.Stop(); err != nil {
		t.Fatalf("node %s exit after SIGTERM: %v\n%s", n.Name, err, n.Log().Tail())
	}
}

// points is the node's metricsd_points gauge: the points of the
// partitions it owns.
func (n *node) points() (int, error) {
	client := http.Client{Timeout: testTimeout}
	resp, err := client.Get("http://" + n.httpAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "metricsd_points "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, errors.New("no metricsd_points in /metrics")
}

// conn is a protocol client on one connection.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t testing.TB, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, r: newReader(c)}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }

// do sends one request line and returns the whole answer, up to and
// including its empty line.
func (c *conn) do(line string) (string, error) {
	c.c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			return b.String(), err
		}
		if l == "\n" {
			return b.String(), nil
		}
	}
}

// mustDo is do that fails the test on an I/O error.
func (c *conn) mustDo(t testing.TB, line string) string {
	t.Helper()
	ans, err := c.do(line)
	if err != nil {
		t.Fatalf("%q: %v (answer so far %q)", line, err, ans)
	}
	return ans
}

// owners reads the partition leases: partition → node name.
func owners(ctx context.Context, js jetstream.JetStream) (map[int]string, error) {
	kv, err := js.KeyValue(ctx, "metricsd-owners")
	if err != nil {
		return nil, err
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return map[int]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[int]string)
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // released in between
		}
		p, err := strconv.Atoi(strings.TrimPrefix(k, "p"))
		if err != nil {
			return nil, err
		}
		out[p] = string(e.Value())
	}
	return out, nil
}

// waitOwners waits until the nodes' leases cover every partition, each
// node within one of partitions/len(nodes).
func waitOwners(t testing.TB, c *natstest.Cluster, nodes []*node, partitions int) {
	t.Helper()
	js := c.JetStream(t)
	waitFor(t, "every partition owned, evenly", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		own, err := owners(ctx, js)
		if err != nil || len(own) != partitions {
			return false
		}
		count := map[string]int{}
		for _, n := range own {
			count[n]++
		}
		for _, n := range nodes {
			if count[n.Name] < partitions/len(nodes) || count[n.Name] > (partitions+len(nodes)-1)/len(nodes) {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, what, testTimeout, cond)
}

// waitForWithin is waitFor with another bound, for a load's progress.
func waitForWithin(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an event
	}
}
