package crash

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"metricsd/internal/testproc"
)

// bin is the metricsd binary that TestMain builds.
var bin *testproc.Binary

// testTimeout bounds every wait of the harness.
const testTimeout = 20 * time.Second

func TestMain(m *testing.M) { testproc.Main(m, "metricsd/cmd/metricsd", &bin) }

// server is a running metricsd serve process.
type server struct {
	*testproc.Proc
	addr string
}

// startServer runs `metricsd serve` on an ephemeral loopback port with the
// given extra flags and waits for its listening line.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s, err := tryStart(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tryStart is startServer that returns an error when the server exits
// before listening, with its log.
func tryStart(t testing.TB, args ...string) (*server, error) {
	t.Helper()
	// No HTTP API: its default port would collide between concurrent tests.
	p, err := testproc.Start(t, bin.Path, testproc.Spec{
		Name:    "server",
		Args:    append([]string{"serve", "--addr", "127.0.0.1:0", "--http-addr", ""}, args...),
		Listen:  []string{"metricsd"},
		Timeout: testTimeout,
	})
	if err != nil {
		return nil, err
	}
	addr, err := p.Addr("metricsd")
	if err != nil {
		return nil, err
	}
	return &server{Proc: p, addr: addr}, nil
}

// stop sends SIGTERM and fails the test unless the server exits cleanly.
func (s *server) stop(t testing.TB) {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatalf("server exit after SIGTERM: %v\n%s", err, s.Log())
	}
}

// conn is a protocol client on one connection.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReader(c)}, nil
}

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

// put sends a put and fails unless it is answered ok.
func (c *conn) put(key, value string, ts int64) error {
	ans, err := c.do(fmt.Sprintf("put %s %s %d", key, value, ts))
	if err != nil {
		return err
	}
	if ans != "ok\n\n" {
		return fmt.Errorf("put answered %q", ans)
	}
	return nil
}

// point is one line of a get answer.
type point struct {
	ts    int64
	value float64
}

// series is one key's points as a get answered them.
type series struct {
	key    string
	points []point
}

// parseGet parses a get answer into series in answer order, checking the
// framing and that each key's timestamps ascend.
func parseGet(ans string) ([]series, error) {
	body, ok := strings.CutPrefix(ans, "ok\n")
	if !ok || !strings.HasSuffix(body, "\n") {
		return nil, fmt.Errorf("malformed answer %q", ans)
	}
	var out []series
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed point line %q", line)
		}
		v, err1 := strconv.ParseFloat(f[1], 64)
		ts, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed point line %q", line)
		}
		n := len(out)
		if n == 0 || out[n-1].key != f[0] {
			for _, s := range out {
				if s.key == f[0] {
					return nil, fmt.Errorf("key %q appears twice, not together", f[0])
				}
			}
			out = append(out, series{key: f[0]})
			n++
		}
		pts := out[n-1].points
		if len(pts) > 0 && pts[len(pts)-1].ts >= ts {
			return nil, fmt.Errorf("key %q: timestamp %d after %d", f[0], ts, pts[len(pts)-1].ts)
		}
		out[n-1].points = append(pts, point{ts, v})
	}
	return out, nil
}

// getAll asks the server at addr for `get *` and returns the raw answer.
func getAll(t *testing.T, addr string) string {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	ans, err := c.do("get *")
	if err != nil {
		t.Fatalf("get *: %v", err)
	}
	return ans
}
