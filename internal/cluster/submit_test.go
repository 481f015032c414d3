package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// TestPipelinedSubmit: one caller submits puts of many new keys and many
// overwrites of one (key, timestamp) without waiting between them, as a
// pipelining session does, then waits for every ticket. Every node
// answers the last value submitted, and lists the keys in the order they
// were first submitted (their order entries were created asynchronously
// but in that order), also after another node put them again in the
// reverse order (their entries existed: it read them).
func TestPipelinedSubmit(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := openNodes(t, c, 3, 16)
	const keys, rounds = 300, 5
	var tickets []store.Ticket
	on := nodes[0]
	submit := func(key string, p store.Point) {
		tk, err := on.Submit([]byte(key), p)
		if err != nil {
			t.Fatalf("submit %s %v: %v", key, p, err)
		}
		tickets = append(tickets, tk)
	}
	wantOrder := []string{"hot"}
	for i := range keys {
		submit("hot", store.Point{Timestamp: 1, Value: float64(i)})
		key := fmt.Sprintf("new.%d", i)
		wantOrder = append(wantOrder, key)
		for r := range rounds {
			submit(key, store.Point{Timestamp: 7, Value: float64(r)})
		}
	}
	settle := func() {
		for i, tk := range tickets {
			if err := tk.Wait(); err != nil {
				t.Fatalf("put %d on %s: %v", i, on.cfg.Node, err)
			}
		}
		tickets = tickets[:0]
	}
	settle()
	// Another node, which has not seen the keys, puts them again in the
	// reverse order: their entries exist, so their order stays.
	on = nodes[1]
	for i := keys - 1; i >= 0; i-- {
		submit(fmt.Sprintf("new.%d", i), store.Point{Timestamp: 7, Value: rounds - 1})
	}
	settle()
	for _, e := range nodes {
		if got := getKey(t, e, "hot"); !slices.Equal(got, []store.Point{{Timestamp: 1, Value: keys - 1}}) {
			t.Errorf("get hot on %s: %v, want the last value %d", e.cfg.Node, got, keys-1)
		}
		all := getAll(t, e)
		var order []string
		for _, s := range all {
			order = append(order, s.key)
			if s.key != "hot" && !slices.Equal(s.points, []store.Point{{Timestamp: 7, Value: rounds - 1}}) {
				t.Errorf("%s on %s: %v, want the last value %d", s.key, e.cfg.Node, s.points, rounds-1)
			}
		}
		if !slices.Equal(order, wantOrder) {
			t.Errorf("get * on %s lists %d keys, not in first-submission order: %v", e.cfg.Node, len(order), order)
		}
	}
}

// TestSubmitUnavailable: when JetStream cannot acknowledge (two of three
// NATS servers gone, no quorum), Submit still returns at once and the
// ticket answers ErrUnavailable, the client's fixed text, once OpTimeout
// has passed; for a key already known and for a new one. Once the
// servers are back, puts are acknowledged again.
func TestSubmitUnavailable(t *testing.T) {
	c := natstest.Start(t, 3)
	e, err := Open(context.Background(), Config{
		URLs:       ParseURLs(c.URLs()),
		Node:       "lonely",
		Partitions: 4,
		LeaseTTL:   testTTL,
		OpTimeout:  2 * time.Second,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	waitBalanced(t, []*Engine{e})
	// A short OpTimeout on a loaded machine: retried until acknowledged.
	waitFor(t, "a first put acknowledged", func() bool {
		return e.Put([]byte("known"), store.Point{Timestamp: 1, Value: 1}) == nil
	})
	c.Servers[1].Kill()
	c.Servers[2].Kill()
	start := time.Now()
	for _, key := range []string{"known", "unknown"} {
		tk, err := e.Submit([]byte(key), store.Point{Timestamp: 2, Value: 2})
		if err != nil {
			t.Fatalf("submit %s: %v, want a ticket", key, err)
		}
		if err := tk.Wait(); !errors.Is(err, ErrUnavailable) || err.Error() != "cluster unavailable" {
			t.Errorf("ticket of %s without a quorum: %v, want %v", key, err, ErrUnavailable)
		}
	}
	t.Logf("both tickets answered in %v (OpTimeout 2 s each)", time.Since(start))
	// With the quorum back, the node takes puts again (and its Close
	// does not wait on requests to a dead cluster).
	for _, s := range c.Servers[1:] {
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a put acknowledged after the outage", func() bool {
		return e.Put([]byte("known"), store.Point{Timestamp: 3, Value: 3}) == nil
	})
}
