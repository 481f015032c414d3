package crash

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stormPut is one put of the storm to a shared (key, timestamp): when it
// was sent and when it was acknowledged (zero: never).
type stormPut struct {
	value         float64
	sentAt, ackAt time.Time
	acknowledged  bool
}

// stormModel is every put of the storm, per (key, timestamp) cell.
type stormModel struct {
	mu    sync.Mutex
	cells map[string][]*stormPut // key "k ts"
}

func (m *stormModel) sent(cell string, v float64) *stormPut {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &stormPut{value: v, sentAt: time.Now()}
	m.cells[cell] = append(m.cells[cell], p)
	return p
}

func (m *stormModel) acked(p *stormPut) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.ackAt, p.acknowledged = time.Now(), true
}

// check compares the server's cells with the model. A cell that had an
// acknowledged put must be there, and its value must be one that no
// acknowledged put can have overwritten: a put Q is surely overwritten
// when some acknowledged put P to the same cell was sent after Q was
// acknowledged. Then the model becomes what the server holds.
func (m *stormModel) check(got map[string]float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for cell, puts := range m.cells {
		v, ok := got[cell]
		var latestAckSend time.Time // the latest send among acknowledged puts
		for _, p := range puts {
			if p.acknowledged && p.sentAt.After(latestAckSend) {
				latestAckSend = p.sentAt
			}
		}
		if !ok {
			if !latestAckSend.IsZero() {
				return fmt.Errorf("cell %s had acknowledged puts and is gone", cell)
			}
			continue
		}
		valid := false
		for _, p := range puts {
			overwritten := p.acknowledged && p.ackAt.Before(latestAckSend)
			if p.value == v && !overwritten {
				valid = true
			}
		}
		if !valid {
			return fmt.Errorf("cell %s holds %v, which is not a value an acknowledged put left there (puts: %s)", cell, v, describe(puts))
		}
	}
	for cell := range got {
		if _, ok := m.cells[cell]; !ok {
			return fmt.Errorf("cell %s is stored but was never put", cell)
		}
	}
	// What the server holds is durable now: it is the one acknowledged
	// put of each cell, sent and acknowledged before anything later.
	epoch := time.Unix(1, 0)
	m.cells = map[string][]*stormPut{}
	for cell, v := range got {
		m.cells[cell] = []*stormPut{{value: v, sentAt: epoch, ackAt: epoch, acknowledged: true}}
	}
	return nil
}

func describe(puts []*stormPut) string {
	s := ""
	for _, p := range puts {
		s += fmt.Sprintf("[%v sent %s ack %v %s] ", p.value, p.sentAt.Format("15:04:05.000000"), p.acknowledged, p.ackAt.Format("15:04:05.000000"))
	}
	return s
}

// stormCells are the (key, timestamp) cells every client of the storm
// overwrites: few, so that connections race on each.
const stormKeys, stormStamps = 3, 4

// stormClient overwrites random shared cells until the server goes away
// or stop is set, each put with a value no other put has.
func stormClient(addr string, id int, seed uint64, m *stormModel, stop *atomic.Bool) {
	c, err := dial(addr)
	if err != nil {
		return
	}
	defer c.c.Close()
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	for i := 0; !stop.Load(); i++ {
		key, ts := fmt.Sprintf("storm%d", rng.IntN(stormKeys)), int64(rng.IntN(stormStamps))
		v := float64(int64(id)<<32|int64(i)) + 0.5
		p := m.sent(key+" "+strconv.FormatInt(ts, 10), v)
		if c.put(key, strconv.FormatFloat(v, 'f', -1, 64), ts) != nil {
			return // killed
		}
		m.acked(p)
	}
}

// TestSIGKILLStorm is issue #11's storm: under each fsync mode, several
// connections overwrite the same few (key, timestamp) cells while the
// server is killed with SIGKILL at random moments, 20 times; after every
// restart no acknowledged put may be lost or stale. Under every mode the
// record is written to the operating system before the ok, so a process
// crash loses nothing acknowledged.
func TestSIGKILLStorm(t *testing.T) {
	const rounds, clients = 20, 4
	for _, mode := range []string{"always", "interval", "never"} {
		t.Run(mode, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			if s, err := strconv.ParseUint(os.Getenv("CRASH_SEED"), 10, 64); err == nil {
				seed = s
			}
			t.Logf("CRASH_SEED=%d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			dir := t.TempDir()
			m := &stormModel{cells: map[string][]*stormPut{}}
			for round := range rounds + 1 {
				flags := []string{"--data-dir", dir, "--fsync", mode, "--fsync-interval", "20ms"}
				if round%2 == 1 {
					flags = append(flags, "--snapshot-interval", "15ms")
				}
				srv := startServer(t, flags...)
				series, err := parseGet(getAll(t, srv.addr))
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				got := map[string]float64{}
				for _, s := range series {
					for _, p := range s.points {
						got[s.key+" "+strconv.FormatInt(p.ts, 10)] = p.value
					}
				}
				if err := m.check(got); err != nil {
					t.Fatalf("round %d after SIGKILL: %v\nserver log:\n%s", round, err, srv.Log())
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
						stormClient(srv.addr, id+1, seed+uint64(round), m, &stop)
					}()
				}
				time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond) // the random kill moment
				srv.Kill()
				stop.Store(true)
				wg.Wait()
			}
		})
	}
}
