package cluster

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// pointID is one written point: each load client writes each (key,
// timestamp) once, so the acknowledged value is the one to read back.
type pointID struct {
	key string
	ts  int64
}

// load is a set of clients putting until stopped, remembering every put
// answered ok.
type load struct {
	mu    sync.Mutex
	acked map[pointID]string
	errs  int // puts answered with an error or lost with their connection
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startLoad starts perNode clients on every address; round names the keys
// so that successive rounds do not overlap.
func startLoad(t testing.TB, addrs []string, perNode int, round string) *load {
	t.Helper()
	l := &load{acked: make(map[pointID]string), stop: make(chan struct{})}
	for i, addr := range addrs {
		for j := range perNode {
			c, err := net.DialTimeout("tcp", addr, testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			cn := &conn{c: c, r: newReader(c)}
			l.wg.Add(1)
			go l.client(cn, fmt.Sprintf("%s.c%d-%d", round, i, j))
		}
	}
	return l
}

// client puts until stopped or until its node goes away.
func (l *load) client(c *conn, prefix string) {
	defer l.wg.Done()
	defer c.c.Close()
	for ts := int64(1); ; ts++ {
		select {
		case <-l.stop:
			return
		default:
		}
		id := pointID{key: fmt.Sprintf("%s.k%d", prefix, ts%7), ts: ts}
		value := strconv.FormatInt(ts, 10) + ".25"
		ans, err := c.do(fmt.Sprintf("put %s %s %d", id.key, value, id.ts))
		l.mu.Lock()
		if err == nil && ans == "ok\n\n" {
			l.acked[id] = value
		} else {
			l.errs++
		}
		l.mu.Unlock()
		if err != nil {
			return // the node is gone
		}
	}
}

// finish stops the clients and returns the acknowledged points.
func (l *load) finish() map[pointID]string {
	close(l.stop)
	l.wg.Wait()
	return l.acked
}

// count is the puts acknowledged so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// checkAcked reads `get *` from c and fails the test for every acknowledged
// point that is missing or has another value.
func checkAcked(t testing.TB, c *conn, acked map[pointID]string) {
	t.Helper()
	ans := c.mustDo(t, "get *")
	lines := strings.Split(strings.TrimSuffix(ans, "\n\n"), "\n")
	if len(lines) == 0 || lines[0] != "ok" {
		t.Fatalf("get * answered %.200q", ans)
	}
	got := make(map[pointID]string, len(lines))
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("get * line %q", line)
		}
		ts, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("get * line %q: %v", line, err)
		}
		got[pointID{f[0], ts}] = f[1]
	}
	missing := 0
	for id, v := range acked {
		if g, ok := got[id]; !ok || g != v {
			if missing < 5 {
				t.Errorf("acknowledged %s %s %d: read back %q", id.key, v, id.ts, g)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged points missing or wrong", missing, len(acked))
	}
}
