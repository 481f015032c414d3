package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pointID is one (key, timestamp).
type pointID struct {
	key string
	ts  int64
}

// written is what the load put for one (key, timestamp), which only one
// client writes, in order on its connection: the value of the last put
// answered ok (the one last write wins keeps, since a session's puts are
// applied in the order sent), and every value put but not answered ok. A put
// answered with an error, or still unanswered when its connection died, may
// or may not have been stored, and may even land after a later acknowledged
// put to the same point (the writer retries it), so any of those values may
// be read back.
type written struct {
	acked    float64
	hasAcked bool
	unacked  []float64
}

// allows reports whether v is a value a get may return for the point.
func (w *written) allows(v float64) bool {
	if w.hasAcked && v == w.acked {
		return true
	}
	for _, u := range w.unacked {
		if v == u {
			return true
		}
	}
	return false
}

// loadSpec shapes a load.
type loadSpec struct {
	perNode int // clients on each node
	window  int // puts a client writes at once (pipelined) before reading their answers
	keys    int // keys a client writes
	// overwrite is the chance that a put rewrites an earlier timestamp of
	// its key (last write wins) instead of the next one.
	overwrite float64
}

// issueLoad is the load of the kill tests: 16 clients a node, each
// pipelining 64 puts a write over 8 keys of its own, one put in 8 an
// overwrite.
var issueLoad = loadSpec{perNode: 16, window: 64, keys: 8, overwrite: 1.0 / 8}

// load is a set of clients putting until stopped. Each client records what
// it wrote; finish merges the records.
type load struct {
	acks    atomic.Int64 // puts answered ok
	fails   atomic.Int64 // puts answered with an error, or lost with their connection
	stop    chan struct{}
	wg      sync.WaitGroup
	clients []*loadClient
}

// loadClient is one connection of a load and what it wrote.
type loadClient struct {
	c      net.Conn
	r      *bufio.Reader
	node   int // index of its address in startLoad's addrs
	keys   []string
	points map[pointID]*written
	ioErr  error // why the client stopped early, if it did
}

// startLoad starts spec.perNode clients on every address; prefix names the
// keys so that successive rounds do not overlap; seed seeds the clients'
// choices.
func startLoad(t testing.TB, addrs []string, spec loadSpec, prefix string, seed uint64) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	for i, addr := range addrs {
		for j := range spec.perNode {
			c, err := net.DialTimeout("tcp", addr, testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			lc := &loadClient{c: c, r: newReader(c), node: i, points: make(map[pointID]*written)}
			for k := range spec.keys {
				lc.keys = append(lc.keys, fmt.Sprintf("%s.c%d-%d.k%d", prefix, i, j, k))
			}
			l.clients = append(l.clients, lc)
			l.wg.Add(1)
			rng := rand.New(rand.NewPCG(seed, uint64(len(l.clients))))
			go l.run(lc, spec, rng)
		}
	}
	return l
}

// run puts from one client until stopped or until its node goes away.
// Values are the client's put counter plus 0.25, so every put's value is
// unique and exact in binary.
func (l *load) run(lc *loadClient, spec loadSpec, rng *rand.Rand) {
	defer l.wg.Done()
	defer lc.c.Close()
	next := make([]int64, len(lc.keys)) // each key's next new timestamp
	for i := range next {
		next[i] = 1
	}
	var req []byte
	batch := make([]pointID, 0, spec.window)
	values := make([]float64, 0, spec.window)
	put := 0
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		req, batch, values = req[:0], batch[:0], values[:0]
		for range spec.window {
			k := put % len(lc.keys)
			ts := next[k]
			if ts > 1 && rng.Float64() < spec.overwrite {
				ts = 1 + rng.Int64N(ts-1)
			} else {
				next[k]++
			}
			id := pointID{lc.keys[k], ts}
			v := float64(put) + 0.25
			put++
			w := lc.points[id]
			if w == nil {
				w = &written{}
				lc.points[id] = w
			}
			// Unacknowledged until its ok is read.
			w.unacked = append(w.unacked, v)
			batch, values = append(batch, id), append(values, v)
			req = fmt.Appendf(req, "put %s %s %d\n", id.key, strconv.FormatFloat(v, 'f', -1, 64), ts)
		}
		lc.c.SetDeadline(time.Now().Add(testTimeout))
		if _, err := lc.c.Write(req); err != nil {
			l.lose(lc, len(batch), err)
			return
		}
		for i, id := range batch {
			ans, err := readAnswer(lc.r)
			if err != nil {
				l.lose(lc, len(batch)-i, err)
				return
			}
			if ans != "ok\n\n" {
				l.fails.Add(1)
				continue // stays unacknowledged: it may still land
			}
			lc.points[id].ack(values[i])
			l.acks.Add(1)
		}
	}
}

// lose counts the n puts of a batch whose answers were lost with the
// connection (they stay unacknowledged) and ends the client.
func (l *load) lose(lc *loadClient, n int, err error) {
	l.fails.Add(int64(n))
	lc.ioErr = err
}

// dropped returns, for each node (index in startLoad's addrs) whose
// clients lost their connection, the first client's error. Call it after
// finish.
func (l *load) dropped() map[int]error {
	out := make(map[int]error)
	for _, lc := range l.clients {
		if _, ok := out[lc.node]; !ok && lc.ioErr != nil {
			out[lc.node] = lc.ioErr
		}
	}
	return out
}

// ack records that the put of value v to the point was answered ok.
func (w *written) ack(v float64) {
	w.acked, w.hasAcked = v, true
	for i, u := range w.unacked {
		if u == v {
			w.unacked = append(w.unacked[:i], w.unacked[i+1:]...)
			return
		}
	}
}

// readAnswer reads one answer, up to and including its empty line.
func readAnswer(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		line, err := r.ReadSlice('\n')
		b = append(b, line...)
		if err != nil {
			return string(b), err
		}
		if len(line) == 1 {
			return string(b), nil
		}
	}
}

// finish stops the clients and merges what they wrote into into (which
// may hold earlier rounds; the rounds' keys differ).
func (l *load) finish(into map[pointID]*written) {
	close(l.stop)
	l.wg.Wait()
	for _, lc := range l.clients {
		for id, w := range lc.points {
			into[id] = w
		}
	}
}

// checker checks get answers against what a load wrote: every point read
// was put, with the last acknowledged value or a value put but not
// acknowledged (written.allows), and appears once (each key's lines are
// together, timestamps strictly ascending); and, in done, every point
// with an acknowledged put was read.
type checker struct {
	t      testing.TB
	points map[pointID]*written
	found  map[pointID]bool
	read   int // points read
	errs   int // points read that should not be there or not so
}

func newChecker(t testing.TB, points map[pointID]*written) *checker {
	return &checker{t: t, points: points, found: make(map[pointID]bool)}
}

// answer reads one get answer from r and checks its points; only, when
// not empty, is the one key the answer may hold (a `get key`).
//
// An answer the cluster could not give (the connection closed before or
// during it, or `error` and its reason) is returned as an error for the
// caller to ask again: the kill tests check what is stored, and a get that
// waited past the cluster's operation timeout while leases moved is a
// matter of availability (docs/cluster.md). Anything else wrong fails the
// test.
func (ck *checker) answer(r *bufio.Reader, only string) error {
	t := ck.t
	t.Helper()
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("get %s: %w", only, err)
	}
	if string(line) == "error\n" {
		reason, err := readAnswer(r)
		return fmt.Errorf("get %s answered error %q (%v)", only, reason, err)
	}
	if string(line) != "ok\n" {
		t.Fatalf("get %s answered %q", only, line)
	}
	seen := make(map[string]bool) // keys whose lines are over
	var key string
	var lastTS int64
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("get %s, %d points in all so far: %w", only, ck.read, err)
		}
		if len(line) == 1 {
			return nil
		}
		k, v, ts, ok := parsePoint(line)
		if !ok {
			t.Fatalf("get %s line %q", only, line)
		}
		if string(k) != key {
			if key != "" {
				seen[key] = true
			}
			if seen[string(k)] || (only != "" && string(k) != only) {
				t.Fatalf("get %s: key %s again after other keys, or not asked for", only, k)
			}
			key, lastTS = string(k), ts-1
		}
		if ts <= lastTS {
			t.Fatalf("get %s: key %s: timestamp %d after %d (a duplicate or out of order)", only, key, ts, lastTS)
		}
		lastTS = ts
		ck.read++
		id := pointID{key, ts}
		w := ck.points[id]
		switch {
		case w == nil:
			ck.fail("get returned %s %v %d, which no client put", key, v, ts)
		case !w.allows(v):
			ck.fail("%s %d: read %v; last acknowledged %v (%v), unacknowledged %v", key, ts, v, w.acked, w.hasAcked, w.unacked)
		}
		ck.found[id] = true
	}
}

// fail reports a wrong point; the first few are shown.
func (ck *checker) fail(format string, args ...any) {
	ck.t.Helper()
	if ck.errs < 5 {
		ck.t.Errorf(format, args...)
	}
	ck.errs++
}

// done fails the test for every acknowledged point of a key in keys (all
// keys when keys is nil) that no answer held, and for the wrong points
// seen; it returns the distinct points read.
func (ck *checker) done(keys map[string]bool) int {
	ck.t.Helper()
	missing := 0
	for id, w := range ck.points {
		if w.hasAcked && !ck.found[id] && (keys == nil || keys[id.key]) {
			if missing < 5 {
				ck.t.Errorf("acknowledged %s %v %d is missing", id.key, w.acked, id.ts)
			}
			missing++
		}
	}
	if missing+ck.errs > 0 {
		ck.t.Errorf("%d points read: %d acknowledged points missing, %d wrong or never put", ck.read, missing, ck.errs)
	}
	return len(ck.found)
}

// checkAttempts bounds how many times a check asks again for answers
// the cluster could not give (checker.answer), each on a new connection.
const checkAttempts = 4

// checkAll reads `get *` from the node at addr and checks it against
// everything written (checker); it returns the points read and how many
// times it had to ask again.
func checkAll(t testing.TB, addr string, points map[pointID]*written) (read, retries int) {
	t.Helper()
	ck := newChecker(t, points)
	for attempt := 1; ; attempt++ {
		err := ask(t, addr, []string{"*"}, func(r *bufio.Reader, _ int) error { return ck.answer(r, "") })
		if err == nil {
			return ck.done(nil), attempt - 1
		}
		if attempt == checkAttempts {
			t.Fatalf("%v; %d attempts", err, attempt)
		}
		t.Logf("%v: asking again on a new connection", err)
	}
}

// checkKeys sends `get key` for every key of the load's clients to the
// node at addr, pipelined in one write, and checks the answers against
// what was written; it returns the points read and how many times it had
// to ask again (from the first key not answered).
func checkKeys(t testing.TB, addr string, l *load, points map[pointID]*written) (read, retries int) {
	t.Helper()
	var keys []string
	asked := make(map[string]bool)
	for _, lc := range l.clients {
		for _, k := range lc.keys {
			keys = append(keys, k)
			asked[k] = true
		}
	}
	ck := newChecker(t, points)
	for attempt := 1; ; attempt++ {
		answered := 0
		err := ask(t, addr, keys, func(r *bufio.Reader, i int) error {
			if err := ck.answer(r, keys[i]); err != nil {
				return err
			}
			answered++
			return nil
		})
		if err == nil {
			return ck.done(asked), attempt - 1
		}
		if attempt == checkAttempts {
			t.Fatalf("%v; %d attempts", err, attempt)
		}
		t.Logf("%v: asking again on a new connection from key %d of %d", err, answered, len(keys))
		keys = keys[answered:]
	}
}

// ask opens a connection to addr, sends `get key` for every key in one
// write, and calls read for each answer in turn (i is the key's index);
// it returns the first error, from the connection or from read.
func ask(t testing.TB, addr string, keys []string, read func(r *bufio.Reader, i int) error) error {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err) // the node must still listen
	}
	defer c.Close()
	var req []byte
	for _, k := range keys {
		req = fmt.Appendf(req, "get %s\n", k)
	}
	c.SetDeadline(time.Now().Add(4 * testTimeout))
	// The answers are read after the whole write: it must fit the
	// connection's buffers, which a few hundred short lines do.
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("send the gets: %w", err)
	}
	r := newReader(c)
	for i := range keys {
		if err := read(r, i); err != nil {
			return err
		}
	}
	return nil
}

// parsePoint splits a get answer's line "key value ts\n".
func parsePoint(line []byte) (key []byte, v float64, ts int64, ok bool) {
	line = line[:len(line)-1]
	i := bytes.IndexByte(line, ' ')
	j := bytes.LastIndexByte(line, ' ')
	if i <= 0 || j <= i {
		return nil, 0, 0, false
	}
	v, err1 := strconv.ParseFloat(string(line[i+1:j]), 64)
	ts, err2 := strconv.ParseInt(string(line[j+1:]), 10, 64)
	return line[:i], v, ts, err1 == nil && err2 == nil
}
