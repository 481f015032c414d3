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
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
)

// bin is the metricsd binary that TestMain builds.
var bin string

// testTimeout bounds every single wait of the harness.
const testTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metricsd-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "metricsd")
	out, err := exec.Command("go", "build", "-o", bin, "metricsd/cmd/metricsd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a running `metricsd serve --cluster` process.
type node struct {
	name     string
	cmd      *exec.Cmd
	addr     string // protocol
	httpAddr string
	graphite chan string // its Graphite address, when it serves one
	log      *logTail
	done     chan error
}

type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(lines) > 60 && os.Getenv("CLUSTER_DEBUG") == "" {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

var (
	protoListening = regexp.MustCompile(`msg="metricsd listening" addr=(\S+)`)
	httpListening  = regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	graphiteListen = regexp.MustCompile(`msg="graphite listening" addr=(\S+)`)
)

// startNode runs a cluster node called name on the NATS servers urls and
// waits until it listens.
func startNode(t testing.TB, urls, name string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--cluster", urls, "--node", name}, extra...)
	if os.Getenv("CLUSTER_DEBUG") != "" {
		args = append(args, "--log-level", "debug")
	}
	n := &node{name: name, log: &logTail{}, done: make(chan error, 1), graphite: make(chan string, 1)}
	n.cmd = exec.Command(bin, args...)
	n.run(t, true)
	return n
}

// run starts n.cmd and waits for its protocol listening line, and for the
// HTTP one when serveHTTP; it returns the protocol address.
func (n *node) run(t testing.TB, serveHTTP bool) string {
	t.Helper()
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc, httpc := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.log.add(sc.Text())
			if m := protoListening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
			if m := httpListening.FindStringSubmatch(sc.Text()); m != nil {
				httpc <- m[1]
			}
			if m := graphiteListen.FindStringSubmatch(sc.Text()); m != nil && n.graphite != nil {
				n.graphite <- m[1]
			}
		}
		n.done <- n.cmd.Wait()
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node %s log (tail):\n%s", n.name, n.log)
		}
	})
	for n.addr == "" || (serveHTTP && n.httpAddr == "") {
		select {
		case n.addr = <-addrc:
		case n.httpAddr = <-httpc:
		case err := <-n.done:
			n.done <- err
			t.Fatalf("%s exited before listening (%v):\n%s", n.name, err, n.log)
		case <-time.After(testTimeout):
			t.Fatalf("%s: no listening line in %v:\n%s", n.name, testTimeout, n.log)
		}
	}
	return n.addr
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

func (n *node) signal(sig syscall.Signal) {
	n.cmd.Process.Signal(sig)
}

// kill sends SIGKILL and waits for the process to go.
func (n *node) kill() {
	n.cmd.Process.Signal(syscall.SIGCONT)
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.wait()
}

// stop sends SIGTERM (a graceful leave) and waits for the exit.
func (n *node) stop(t testing.TB) {
	t.Helper()
	n.signal(syscall.SIGTERM)
	if err := n.wait(); err != nil {
		t.Fatalf("node %s exit after SIGTERM: %v\n%s", n.name, err, n.log)
	}
}

func (n *node) wait() error {
	select {
	case err := <-n.done:
		n.done <- err
		return err
	case <-time.After(testTimeout):
		n.cmd.Process.Kill()
		return errors.New("node did not exit in time")
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

// jetStream connects the test itself to the NATS servers.
func jetStream(t testing.TB, c *natstest.Cluster) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
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
	js := jetStream(t, c)
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
			if count[n.name] < partitions/len(nodes) || count[n.name] > (partitions+len(nodes)-1)/len(nodes) {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an event
	}
}
