package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
	"metricsd/internal/store"
)

// snapModel is a small partition's worth of series: a memory engine, the
// revisions, and the object encoding them.
func snapModel(t testing.TB, seq uint64, series int) (*store.Memory, map[string]uint64, []byte) {
	t.Helper()
	mem := store.NewMemory()
	revs := make(map[string]uint64)
	for i := range series {
		key := fmt.Sprintf("snap.%d", i)
		revs[key] = uint64(100 - i) // revisions need not follow the engine's order
		for j := range 10 + i*30 {  // some series span several chunks
			if err := mem.Put([]byte(key), store.Point{Timestamp: int64(j*7 - 50), Value: float64(j) / 3}); err != nil {
				t.Fatal(err)
			}
		}
	}
	enc := newSnapEncoder(5, seq)
	if err := mem.Snapshot(func(_ uint64, key []byte, chunks [][]byte) error {
		return enc.add(revs[string(key)], key, chunks)
	}); err != nil {
		t.Fatal(err)
	}
	return mem, revs, enc.finish()
}

// TestSnapshotObjectRoundTrip: an object decodes to the series, points and
// revisions it was made of, in the same order, with its header.
func TestSnapshotObjectRoundTrip(t *testing.T) {
	mem, revs, data := snapModel(t, 1234, 40)
	part := &partition{p: 5}
	got, gotRevs, h, err := part.decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.partition != 5 || h.seq != 1234 {
		t.Errorf("header %+v, want partition 5, seq 1234", h)
	}
	wantSeries, wantPoints := mem.Stats()
	if int(h.series) != wantSeries || int(h.points) != wantPoints {
		t.Errorf("header counts %d series %d points, want %d and %d", h.series, h.points, wantSeries, wantPoints)
	}
	type series struct {
		key    string
		points []store.Point
	}
	gather := func(m *store.Memory) []series {
		var out []series
		if err := m.All(func(key []byte, points []store.Point) error {
			if len(out) > 0 && out[len(out)-1].key == string(key) {
				out[len(out)-1].points = append(out[len(out)-1].points, points...)
				return nil
			}
			out = append(out, series{string(key), slices.Clone(points)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if a, b := gather(mem), gather(got); !slices.EqualFunc(a, b, func(x, y series) bool {
		return x.key == y.key && slices.Equal(x.points, y.points)
	}) {
		t.Errorf("decoded series differ from the encoded ones")
	}
	for k, r := range revs {
		if gotRevs[k] != r {
			t.Errorf("revision of %q: %d, want %d", k, gotRevs[k], r)
		}
	}
	// Another partition's object is refused.
	if _, _, _, err := (&partition{p: 6}).decode(data); !errors.Is(err, errBadSnapshot) {
		t.Errorf("partition 6 decoding partition 5's object: %v", err)
	}
}

// TestSnapshotObjectDamage: every flipped byte and every truncation of an
// object is detected (the checksum covers every byte), and so is a newer
// format version.
func TestSnapshotObjectDamage(t *testing.T) {
	_, _, data := snapModel(t, 7, 4) // small: each damage is checked in full
	nop := func(uint64, []byte, [][]byte) error { return nil }
	for i := range data {
		b := slices.Clone(data)
		b[i] ^= 0x40
		if _, err := decodeSnapshot(b, nop); !errors.Is(err, errBadSnapshot) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := range len(data) {
		if _, err := decodeSnapshot(data[:n], nop); !errors.Is(err, errBadSnapshot) {
			t.Fatalf("cut to %d bytes: %v", n, err)
		}
	}
	enc := newSnapEncoder(1, 1)
	enc.b[8] = snapVersion + 1
	if _, err := decodeSnapshot(enc.finish(), nop); !errors.Is(err, errBadSnapshot) {
		t.Errorf("version %d: %v", snapVersion+1, err)
	}
}

func TestSnapName(t *testing.T) {
	f := func(name string, wantP int, wantSeq uint64, wantOK bool) {
		t.Helper()
		p, seq, ok := parseSnapName(name)
		if ok != wantOK || ok && (p != wantP || seq != wantSeq) {
			t.Errorf("parseSnapName(%q) = %d, %d, %v", name, p, seq, ok)
		}
	}
	f(snapName(3, 42), 3, 42, true)
	f(snapName(4095, 1<<63), 4095, 1<<63, true)
	f("p3.42", 0, 0, false)
	f("q3.00000000000000000042", 0, 0, false)
	f("p-1.00000000000000000042", 0, 0, false)
	f("p3", 0, 0, false)
	if snapName(1, 9) >= snapName(1, 10) {
		t.Error("names do not sort by sequence")
	}
}

// snapConfig makes a node snapshot every few hundred points.
func snapConfig(c *Config) {
	c.SnapshotPoints = 150
	c.SnapshotInterval = time.Hour
}

// putMany puts n points over keys through the nodes, from 16 callers, and
// returns what each key holds.
func putMany(t *testing.T, nodes []*Engine, keys, n, round int) map[string][]store.Point {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				key := fmt.Sprintf("purge.%d", i%keys)
				p := store.Point{Timestamp: int64(round*n + i), Value: float64(i) + 0.25}
				if err := nodes[i%len(nodes)].Put([]byte(key), p); err != nil {
					errs <- err
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
	want := make(map[string][]store.Point)
	for r := 0; r <= round; r++ {
		for i := range n {
			key := fmt.Sprintf("purge.%d", i%keys)
			want[key] = append(want[key], store.Point{Timestamp: int64(r*n + i), Value: float64(i) + 0.25})
		}
	}
	return want
}

// checkAll fails unless e answers exactly want, key by key.
func checkAll(t *testing.T, e *Engine, want map[string][]store.Point) {
	t.Helper()
	got := getAll(t, e)
	if len(got) != len(want) {
		t.Fatalf("get * on %s: %d series, want %d", e.cfg.Node, len(got), len(want))
	}
	for _, s := range got {
		if !slices.Equal(s.points, want[s.key]) {
			t.Fatalf("get * on %s: %s has %d points, want %d", e.cfg.Node, s.key, len(s.points), len(want[s.key]))
		}
	}
}

// purged reports whether every partition has two snapshots and its
// subject holds nothing at or below the older one (the purge).
func purged(t *testing.T, e *Engine) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p := range e.Partitions() {
		part := &partition{e: e, p: p}
		seqs, err := part.listSnapshots(ctx)
		if err != nil || len(seqs) < 2 {
			return false
		}
		msg, err := e.stream(p).GetMsg(ctx, 1, jetstream.WithGetMsgSubject(partSubject(p)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil || msg.Sequence <= seqs[len(seqs)-1] {
			return false
		}
	}
	return true
}

// TestSnapshotsPurgeFailoverRestart: owners snapshot their partitions and
// purge the streams behind them; after a node leaves, the new owners
// (loading the snapshots, replaying the rest) answer every point; after
// the whole cluster of nodes restarts, the nodes load the snapshots and
// again answer every point, and new puts go on being snapshotted.
func TestSnapshotsPurgeFailoverRestart(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := openNodes(t, c, 3, 8, snapConfig)
	want := putMany(t, nodes, 60, 4000, 0)
	waitFor(t, "every partition snapshotted twice and purged", func() bool { return purged(t, nodes[0]) })
	checkAll(t, nodes[1], want)

	// A node leaves: its partitions' new owners start from snapshots of
	// streams that no longer hold their start.
	nodes[2].Close()
	waitBalanced(t, nodes[:2])
	checkAll(t, nodes[0], want)
	checkAll(t, nodes[1], want)

	// The whole cluster of nodes restarts.
	nodes[0].Close()
	nodes[1].Close()
	again := openNodes(t, c, 3, 8, snapConfig)
	checkAll(t, again[2], want)
	fromSnapshot := 0
	for _, e := range again {
		for _, part := range e.lease.heldPartitions() {
			part.applyMu.Lock()
			if part.base > 0 {
				fromSnapshot++
			}
			part.applyMu.Unlock()
		}
	}
	if fromSnapshot != 8 {
		t.Errorf("%d of 8 partitions started from a snapshot after the restart", fromSnapshot)
	}
	want = putMany(t, again, 60, 4000, 1)
	checkAll(t, again[0], want)
}

// TestDamagedSnapshot: a damaged newest snapshot is passed over for the
// one before it (the stream was purged only that far), and every point is
// still answered; with that one damaged too the partition refuses to
// answer rather than answer from a state with a hole.
func TestDamagedSnapshot(t *testing.T) {
	c := natstest.Start(t, 1)
	e := openNode(t, c.URLs(), "a", 1, snapConfig)
	waitBalanced(t, []*Engine{e})
	want := putMany(t, []*Engine{e}, 20, 1000, 0)
	waitFor(t, "snapshots and a purge", func() bool { return purged(t, e) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.Close() // no snapshot of its own may change the objects from here
	js := c.JetStream(t)
	snaps, err := js.ObjectStore(ctx, snapBucket)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := snaps.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, info := range infos {
		if _, seq, ok := parseSnapName(info.Name); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	slices.Reverse(seqs)
	// The later nodes take no snapshots of their own, which could replace
	// the damaged ones.
	quick := func(c *Config) { c.SnapshotPoints = 1 << 40; c.OpTimeout = 3 * time.Second }
	if len(seqs) < 2 {
		t.Fatalf("snapshots %v, want two or more", seqs)
	}
	damage := func(seq uint64) {
		t.Helper()
		data, err := snaps.GetBytes(ctx, snapName(0, seq))
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1
		if _, err := snaps.PutBytes(ctx, snapName(0, seq), data); err != nil {
			t.Fatal(err)
		}
	}
	damage(seqs[0])
	b := openNode(t, c.URLs(), "b", 1, quick)
	waitBalanced(t, []*Engine{b})
	checkAll(t, b, want)
	part := b.lease.partition(0)
	part.applyMu.Lock()
	base := part.base
	part.applyMu.Unlock()
	if base != seqs[1] {
		t.Errorf("loaded the snapshot at %d, want the fallback at %d", base, seqs[1])
	}
	b.Close()

	damage(seqs[1])
	d := openNode(t, c.URLs(), "d", 1, quick)
	waitBalanced(t, []*Engine{d})
	if err := d.Get([]byte("purge.1"), func([]byte, []store.Point) error { return nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("get with both snapshots damaged: %v, want %v", err, ErrUnavailable)
	}
}

// TestSnapshotFencedByLease: an owner whose lease was taken while it
// stored a snapshot purges nothing (its commit, a compare-and-set on the
// lease, fails), so a new owner's replay after the newest snapshot it
// lists never misses a message.
func TestSnapshotFencedByLease(t *testing.T) {
	c := natstest.Start(t, 1)
	manual := func(c *Config) { c.SnapshotPoints = 1 << 40; c.SnapshotInterval = time.Hour }
	e := openNode(t, c.URLs(), "a", 1, manual)
	waitBalanced(t, []*Engine{e})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	part := e.lease.partition(0)
	first := func() uint64 {
		t.Helper()
		msg, err := e.stream(0).GetMsg(ctx, 1, jetstream.WithGetMsgSubject(partSubject(0)))
		if err != nil {
			t.Fatal(err)
		}
		return msg.Sequence
	}
	snapshotAfter := func(round int) error {
		t.Helper()
		putMany(t, []*Engine{e}, 10, 100, round)
		if err := part.barrier(ctx); err != nil {
			t.Fatal(err)
		}
		return part.snapshot()
	}
	for round := range 2 {
		if err := snapshotAfter(round); err != nil {
			t.Fatalf("snapshot %d: %v", round, err)
		}
	}
	purgedTo := first()
	if purgedTo == 1 {
		t.Fatal("the second snapshot purged nothing")
	}
	// Another node takes the lease.
	if _, err := e.owners.Put(ctx, leaseKey(0), []byte("thief")); err != nil {
		t.Fatal(err)
	}
	if err := snapshotAfter(2); err == nil {
		t.Fatal("a snapshot after the lease was taken committed")
	}
	if got := first(); got != purgedTo {
		t.Errorf("the fenced snapshot purged the stream to %d (was %d)", got, purgedTo)
	}
}
