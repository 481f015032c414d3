package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
)

// The sizes of the issue's kill tests (#15, tests 3 and 4): every round
// runs until roundPuts puts have been acknowledged, and the node test kills
// a node in each of killRounds rounds. They are constants, not knobs: the
// suite runs the issue's sizes.
const (
	killRounds = 10
	roundPuts  = 100_000
)

// roundTimeout bounds one round's load (roundPuts acknowledged puts).
const roundTimeout = 5 * time.Minute

// TestKillNodeDuringLoad is the issue's test 3: while clients on every node
// put (pipelined, with overwrites), one metricsd node is SIGKILLed at a
// random moment; once roundPuts puts of the round have been acknowledged,
// a `get` of each of the round's keys on a survivor must return every
// acknowledged (key, timestamp, value), last write winning, and nothing
// that was not put (checkKeys); the other nodes' clients keep their
// connections throughout. The node comes back under its name for the
// next round, so every round starts with three nodes. After the last
// round, `get *` on a random node must hold every round's points the same
// way (checkAll): what later kills and failovers moved is still there.
func TestKillNodeDuringLoad(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	points := make(map[pointID]*written)
	var acks, fails int64
	for round := range killRounds {
		victim := rng.IntN(len(nodes))
		var addrs []string
		for _, n := range nodes {
			addrs = append(addrs, n.addr)
		}
		began := time.Now()
		l := startLoad(t, addrs, issueLoad, fmt.Sprintf("kill%d", round), seed+uint64(round))
		killAt := int64(roundPuts/20 + rng.IntN(roundPuts*9/10))
		waitForWithin(t, "puts acknowledged before the kill", roundTimeout, func() bool { return l.acks.Load() >= killAt })
		if err := nodes[victim].Kill(); err == nil {
			t.Fatalf("%s exited cleanly before SIGKILL", nodes[victim].Name)
		}
		killedAt := l.acks.Load()
		waitForWithin(t, "the round's puts acknowledged", roundTimeout, func() bool { return l.acks.Load() >= roundPuts })
		l.finish(points)
		loaded := time.Since(began)
		for i, err := range l.dropped() {
			if i != victim {
				t.Errorf("round %d: clients of %s, which was not killed, lost their connection: %v", round, nodes[i].Name, err)
			}
		}
		acks, fails = acks+l.acks.Load(), fails+l.fails.Load()
		survivor := nodes[(victim+1+rng.IntN(len(nodes)-1))%len(nodes)]
		read, retries := checkKeys(t, survivor.addr, l, points)
		t.Logf("round %d: killed %s after %d acknowledged puts; %d acknowledged, %d not, in %v (%.0f/s); the round's keys on %s: %d points in %v, asked again %d times",
			round, nodes[victim].Name, killedAt, l.acks.Load(), l.fails.Load(), loaded.Round(time.Millisecond),
			float64(l.acks.Load())/loaded.Seconds(), survivor.Name, read, (time.Since(began) - loaded).Round(time.Millisecond), retries)
		if t.Failed() {
			return
		}
		nodes[victim] = startNode(t, c.URLs(), nodes[victim].Name)
		waitOwners(t, c, nodes, 64)
	}
	began := time.Now()
	final := nodes[rng.IntN(len(nodes))]
	read, retries := checkAll(t, final.addr, points)
	t.Logf("%d rounds: %d puts acknowledged, %d not; get * on %s: %d points in %v, asked again %d times",
		killRounds, acks, fails, final.Name, read, time.Since(began).Round(time.Millisecond), retries)
}

// TestKillStreamLeaderDuringLoad is the issue's test 4: the NATS server
// leading a partition stream is SIGKILLed at a random moment while clients
// on every node put, until roundPuts puts are acknowledged: no
// acknowledged point is lost and no point appears twice in `get *`
// (checkAll), and no batch is stored twice in any stream (every message ID
// is unique: the writers' retries were deduplicated); no client loses its
// connection.
func TestKillStreamLeaderDuringLoad(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
	defer cancel()
	st, err := js.Stream(ctx, "METRICSD_0")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := c.ServerNamed(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("no server named %q leads METRICSD_0", info.Cluster.Leader)
	}
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	began := time.Now()
	l := startLoad(t, addrs, issueLoad, "leader", seed)
	killAt := int64(roundPuts/20 + rng.IntN(roundPuts*9/10))
	waitForWithin(t, "puts acknowledged before the kill", roundTimeout, func() bool { return l.acks.Load() >= killAt })
	leader.Kill()
	killedAt := l.acks.Load()
	waitForWithin(t, "the puts acknowledged", roundTimeout, func() bool { return l.acks.Load() >= roundPuts })
	points := make(map[pointID]*written)
	l.finish(points)
	loaded := time.Since(began)
	for i, err := range l.dropped() {
		t.Errorf("clients of %s lost their connection when a NATS server was killed: %v", nodes[i].Name, err)
	}
	read, retries := checkAll(t, nodes[0].addr, points)
	t.Logf("killed stream leader %s after %d acknowledged puts; %d acknowledged, %d not, in %v (%.0f/s); get *: %d points in %v, asked again %d times",
		leader.Name, killedAt, l.acks.Load(), l.fails.Load(), loaded.Round(time.Millisecond),
		float64(l.acks.Load())/loaded.Seconds(), read, (time.Since(began) - loaded).Round(time.Millisecond), retries)

	// Duplicates in the log: read every message of every stream and count
	// message IDs, with the killed server back so that every stream has
	// its peers.
	if err := leader.Restart(); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	msgs := 0
	for i := range 6 {
		msgs += streamIDs(ctx, t, js, "METRICSD_"+strconv.Itoa(i), ids)
	}
	dups := 0
	for id, n := range ids {
		if n > 1 || id == "" {
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%d message IDs stored more than once (or missing) among %d messages", dups, msgs)
	}
	t.Logf("%d messages in the streams, every message ID once", msgs)
}

// streamIDs reads every message of a stream with an ordered consumer and
// counts its Nats-Msg-Id in ids; it returns the messages read.
func streamIDs(ctx context.Context, t testing.TB, js jetstream.JetStream, stream string, ids map[string]int) int {
	t.Helper()
	var last uint64
	waitFor(t, "the stream's info", func() bool {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		si, err := s.Info(ctx)
		if err != nil {
			return false
		}
		last = si.State.LastSeq
		return true
	})
	if last == 0 {
		return 0
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("%s: ordered consumer: %v", stream, err)
	}
	read := 0
	deadline := time.Now().Add(roundTimeout)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("%s: read %d messages in %v, the last sequence is %d", stream, read, roundTimeout, last)
		}
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue // the consumer recreates itself; the deadline bounds this
		}
		for m := range batch.Messages() {
			ids[m.Headers().Get(jetstream.MsgIDHeader)]++
			read++
			md, err := m.Metadata()
			if err != nil {
				t.Fatalf("%s: %v", stream, err)
			}
			if md.Sequence.Stream >= last {
				return read
			}
		}
	}
}
