package crash

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cell is what the clients know about one (key, timestamp): the values put
// there, in the order sent, and when each was acknowledged (zero: not).
type cell struct {
	values []float64
	ackAt  []time.Time
}

// model is everything the clients put, across rounds.
type model struct {
	mu    sync.Mutex
	cells map[string]map[int64]*cell
	order []string // key order that the last check observed
}

func newModel() *model { return &model{cells: map[string]map[int64]*cell{}} }

// sent records a put about to be sent and returns its cell index.
func (m *model) sent(key string, ts int64, v float64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	byTS := m.cells[key]
	if byTS == nil {
		byTS = map[int64]*cell{}
		m.cells[key] = byTS
	}
	c := byTS[ts]
	if c == nil {
		c = &cell{}
		byTS[ts] = c
	}
	c.values = append(c.values, v)
	c.ackAt = append(c.ackAt, time.Time{})
	return len(c.values) - 1
}

// acked records that put i of (key, ts) was answered ok.
func (m *model) acked(key string, ts int64, i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cells[key][ts].ackAt[i] = time.Now()
}

// check compares what the server answered to `get *` with the model: every
// put acknowledged before cutoff must be there (its value, or a value put
// later to the same key and timestamp), nothing may be there that was not
// put, and the keys already seen keep their first-insertion order. Then
// the model becomes what the server holds, which the next crash must keep.
func (m *model) check(got []series, cutoff time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]map[int64]float64{}
	var order []string
	for _, s := range got {
		order = append(order, s.key)
		seen[s.key] = map[int64]float64{}
		for _, p := range s.points {
			seen[s.key][p.ts] = p.value
		}
	}
	if len(order) < len(m.order) || !slices.Equal(order[:len(m.order)], m.order) {
		return fmt.Errorf("first-insertion order changed:\nbefore %v\nnow    %v", m.order, order)
	}
	if err := checkClientOrder(order); err != nil {
		return err
	}
	for key, byTS := range seen {
		for ts, v := range byTS {
			if c := m.cells[key][ts]; c == nil || !slices.Contains(c.values, v) {
				return fmt.Errorf("%s %v %d is stored but was never put", key, v, ts)
			}
		}
	}
	for key, byTS := range m.cells {
		for ts, c := range byTS {
			if err := c.check(key, ts, seen[key], cutoff); err != nil {
				return err
			}
		}
	}
	m.reset(seen, order)
	return nil
}

// check verifies one cell against the server's points of key.
func (c *cell) check(key string, ts int64, got map[int64]float64, cutoff time.Time) error {
	durable := -1 // the last put acknowledged before cutoff
	for i, at := range c.ackAt {
		if !at.IsZero() && at.Before(cutoff) {
			durable = i
		}
	}
	if durable < 0 {
		return nil
	}
	v, ok := got[ts]
	if !ok {
		return fmt.Errorf("%s %v %d was acknowledged before the kill and is gone", key, c.values[durable], ts)
	}
	if !slices.Contains(c.values[durable:], v) {
		return fmt.Errorf("%s at %d is %v; the acknowledged value is %v and later puts were %v", key, ts, v, c.values[durable], c.values[durable+1:])
	}
	return nil
}

// reset makes the server's state the model: it is on disk now.
func (m *model) reset(seen map[string]map[int64]float64, order []string) {
	durable := time.Unix(1, 0)
	m.cells = map[string]map[int64]*cell{}
	for key, byTS := range seen {
		m.cells[key] = map[int64]*cell{}
		for ts, v := range byTS {
			m.cells[key][ts] = &cell{values: []float64{v}, ackAt: []time.Time{durable}}
		}
	}
	m.order = order
}

// checkClientOrder checks that each client's keys, which it created one
// after another, are in creation order.
func checkClientOrder(order []string) error {
	last := map[string]int{}
	for _, key := range order {
		prefix, n, ok := splitKey(key)
		if !ok {
			continue
		}
		if prev, ok := last[prefix]; ok && n <= prev {
			return fmt.Errorf("key %s is listed after %s.k%03d, which its client created later", key, prefix, prev)
		}
		last[prefix] = n
	}
	return nil
}

// splitKey splits "r03.c2.k017" into "r03.c2" and 17.
func splitKey(key string) (string, int, bool) {
	i := strings.LastIndex(key, ".k")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(key[i+2:])
	return key[:i], n, err == nil
}

// client puts to its own keys until the server goes away or stop is set:
// a new key every 16 puts, and every fifth put overwrites an earlier
// timestamp of the current key.
func client(addr string, round, id int, m *model, stop *atomic.Bool) {
	c, err := dial(addr)
	if err != nil {
		return
	}
	defer c.c.Close()
	for i := 0; !stop.Load(); i++ {
		key := fmt.Sprintf("r%02d.c%d.k%03d", round, id, i/16)
		ts := int64(i % 16)
		if i%5 == 4 && ts >= 3 {
			ts -= 3
		}
		v := float64(id*1_000_000+i) + 0.25
		n := m.sent(key, ts, v)
		if c.put(key, strconv.FormatFloat(v, 'f', -1, 64), ts) != nil {
			return // killed
		}
		m.acked(key, ts, n)
	}
}

// crashRounds runs rounds of: start the server on dir, check what it holds,
// let clients put, SIGKILL it at a random moment.
func crashRounds(t *testing.T, rounds, clients int, lost time.Duration, flags func(round int) []string) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	m := newModel()
	var killedAt time.Time
	var killed string // a copy of dir as the last kill left it
	for round := range rounds + 1 {
		srv := startServer(t, append([]string{"--data-dir", dir}, flags(round)...)...)
		got, err := parseGet(getAll(t, srv.addr))
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, srv.Log())
		}
		if err := m.check(got, killedAt.Add(-lost)); err != nil {
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("metricsd-crash-%d", seed))
			if cerr := os.CopyFS(keep, os.DirFS(killed)); cerr != nil {
				keep = cerr.Error()
			}
			t.Fatalf("round %d after SIGKILL: %v\nthe data directory as the kill left it: %s\nserver log:\n%s", round, err, keep, srv.Log())
		}
		if round == rounds {
			srv.stop(t)
			return
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for id := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client(srv.addr, round, id, m, &stop)
			}()
		}
		time.Sleep(time.Duration(10+rng.IntN(150)) * time.Millisecond) // the random kill moment
		killedAt = time.Now()
		srv.Kill()
		stop.Store(true)
		wg.Wait()
		// Kept for the failure message: the next start repairs and
		// snapshots, and so changes the directory.
		killed = filepath.Join(t.TempDir(), "killed")
		if err := os.CopyFS(killed, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCrashFsyncAlways(t *testing.T) {
	// Every other round snapshots every 20ms, so that kills also land
	// during snapshots and just after segment deletions.
	crashRounds(t, 20, 8, 0, func(round int) []string {
		flags := []string{"--fsync", "always"}
		if round%2 == 1 {
			flags = append(flags, "--snapshot-interval", "20ms")
		}
		return flags
	})
}

// TestCrashFsyncInterval and TestCrashFsyncNever: under both modes the
// record is written to the operating system before the ok (issue #11.3),
// so a kill of the process loses nothing acknowledged, even the puts
// acknowledged just before the kill.
func TestCrashFsyncInterval(t *testing.T) {
	crashRounds(t, 6, 8, 0, func(round int) []string {
		return []string{"--fsync", "interval", "--fsync-interval", "50ms", "--snapshot-interval", "30ms"}
	})
}

func TestCrashFsyncNever(t *testing.T) {
	crashRounds(t, 6, 8, 0, func(round int) []string {
		return []string{"--fsync", "never", "--snapshot-interval", "30ms"}
	})
}
