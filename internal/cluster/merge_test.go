package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"metricsd/internal/chunkenc"
	"metricsd/internal/store"
)

// testPoint is one point of a merge test's data set, with its key's
// revision.
type testPoint struct {
	key string
	rev uint64
	p   store.Point
}

// replicas builds the owners' side of a read without NATS: for each
// partition, copies replicas of it, as a partition moving between owners
// would find them. The first applies msgs; each other one holds the same
// final points put in a shuffled order, so its engine cuts the series
// into other chunks.
func replicas(t *testing.T, parts, copies int, msgs [][]testPoint) [][]*partition {
	t.Helper()
	out := make([][]*partition, parts)
	for p := range out {
		for range copies {
			out[p] = append(out[p], bareP(p))
		}
	}
	apply := func(copy int, msgs [][]testPoint) {
		for seq, msg := range msgs {
			byPart := make(map[int][]byte)
			for _, tp := range msg {
				p := PartitionOf([]byte(tp.key), parts)
				byPart[p] = appendRecord(byPart[p], []byte(tp.key), tp.rev, tp.p)
			}
			for p, b := range byPart {
				out[p][copy].apply(uint64(seq+1), b)
			}
		}
	}
	apply(0, msgs)
	revs := make(map[string]uint64)
	for _, msg := range msgs {
		for _, tp := range msg {
			revs[tp.key] = tp.rev
		}
	}
	for c := 1; c < copies; c++ {
		var flat []testPoint
		for _, s := range expected(msgs) {
			for _, p := range s.points {
				flat = append(flat, testPoint{key: s.key, rev: revs[s.key], p: p})
			}
		}
		rand.New(rand.NewPCG(uint64(c), 2)).Shuffle(len(flat), func(a, b int) { flat[a], flat[b] = flat[b], flat[a] })
		apply(c, [][]testPoint{flat})
	}
	return out
}

// ownerFetch answers a merge's fetches as owners do (fill, answer head,
// advance), from the replica that pick chooses for each request.
func ownerFetch(reps [][]*partition, kind byte, key []byte, limit int, pick func(p int) int) fetchFunc {
	return func(_ context.Context, i int, r *readRequest) (chunk, error) {
		if r.kind == 0 {
			p := i
			if kind == kindKey {
				p = PartitionOf(key, len(reps))
			}
			*r = readRequest{kind: kind, p: p, barrier: true, key: key}
		}
		req, ok := decodeRequest(appendRequest(nil, r))
		if !ok {
			return chunk{}, errors.New("request does not decode")
		}
		part := reps[req.p][pick(req.p)]
		records, last, end, err := part.fill(&req, limit)
		if err != nil {
			return chunk{}, err
		}
		return r.advance(append(appendAnswerHead(nil, 1, end, last.ptr()), records...))
	}
}

// mergeGathered runs a merge and gathers what it visits, runs of one
// series joined; it fails the test if a series is visited twice apart.
func mergeGathered(t *testing.T, m *merge, n int) []gotSeries {
	t.Helper()
	var out []gotSeries
	seen := make(map[string]bool)
	err := m.run(context.Background(), n, func(key []byte, pts []store.Point) error {
		if len(out) > 0 && out[len(out)-1].key == string(key) {
			out[len(out)-1].points = append(out[len(out)-1].points, pts...)
			return nil
		}
		if seen[string(key)] {
			t.Fatalf("series %q visited again after another one", key)
		}
		seen[string(key)] = true
		out = append(out, gotSeries{key: string(key), points: slices.Clone(pts)})
		return nil
	})
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return out
}

// expected is what a read of msgs must visit: series by revision, points
// by timestamp, the last write of a (key, timestamp) winning.
func expected(msgs [][]testPoint) []gotSeries {
	type series struct {
		rev uint64
		pts map[int64]float64
	}
	all := make(map[string]*series)
	for _, msg := range msgs {
		for _, tp := range msg {
			s := all[tp.key]
			if s == nil {
				s = &series{rev: tp.rev, pts: make(map[int64]float64)}
				all[tp.key] = s
			}
			s.pts[tp.p.Timestamp] = tp.p.Value
		}
	}
	var out []gotSeries
	for key, s := range all {
		g := gotSeries{key: key}
		for ts, v := range s.pts {
			g.points = append(g.points, store.Point{Timestamp: ts, Value: v})
		}
		slices.SortFunc(g.points, func(a, b store.Point) int { return int(a.Timestamp - b.Timestamp) })
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b gotSeries) int {
		return cmpIndexEntry(indexEntry{all[a.key].rev, a.key}, indexEntry{all[b.key].rev, b.key})
	})
	return out
}

func equalSeries(a, b []gotSeries) bool {
	return slices.EqualFunc(a, b, func(x, y gotSeries) bool { return x.key == y.key && slices.Equal(x.points, y.points) })
}

// dataSet is keys series over a shuffled publish order: a key's
// revision is its index, but its points are published in messages that
// interleave keys, so keys reach their partitions out of revision order;
// series i has points(i) points, some overwritten.
func dataSet(seed uint64, keys int, points func(i int) int) [][]testPoint {
	rng := rand.New(rand.NewPCG(seed, 1))
	var flat []testPoint
	for i := range keys {
		for j := range points(i) {
			flat = append(flat, testPoint{key: fmt.Sprintf("k.%d", i), rev: uint64(i + 1), p: store.Point{Timestamp: int64(j) - 3, Value: float64(i*1000 + j)}})
		}
	}
	rng.Shuffle(len(flat), func(a, b int) { flat[a], flat[b] = flat[b], flat[a] })
	// Overwrites: the last write wins, in publish order.
	for i := range len(flat) / 10 {
		tp := flat[i*7%len(flat)]
		tp.p.Value = -tp.p.Value - 1
		flat = append(flat, tp)
	}
	var msgs [][]testPoint
	for len(flat) > 0 {
		n := min(len(flat), 1+rng.IntN(20))
		msgs = append(msgs, flat[:n])
		flat = flat[n:]
	}
	return msgs
}

func TestMergeOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parts  int
		keys   int
		points func(i int) int
		limit  int
	}{
		{"one point a series, small chunks", 8, 300, func(int) int { return 1 }, MinReadChunk},
		{"short series, default chunks", 16, 500, func(i int) int { return 1 + i%7 }, DefaultReadChunk},
		{"long series in several runs", 4, 12, func(i int) int { return 300 + 150*i }, MinReadChunk},
		{"one partition", 1, 50, func(i int) int { return i }, 1024},
		{"more partitions than keys", 32, 5, func(int) int { return 40 }, MinReadChunk},
		{"empty", 8, 0, func(int) int { return 0 }, MinReadChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := dataSet(uint64(tc.keys), tc.keys, tc.points)
			reps := replicas(t, tc.parts, 1, msgs)
			m := &merge{window: readWindow, fetch: ownerFetch(reps, kindAll, nil, tc.limit, func(int) int { return 0 })}
			got := mergeGathered(t, m, tc.parts)
			if want := expected(msgs); !equalSeries(got, want) {
				t.Fatalf("merged %d series, want %d; first difference in %s", len(got), len(want), firstDiff(got, want))
			}
			if m.maxLive.Load() > int64(readWindow*tc.parts) {
				t.Fatalf("held %d chunks at once, more than %d streams × %d", m.maxLive.Load(), tc.parts, readWindow)
			}
		})
	}
}

func firstDiff(a, b []gotSeries) string {
	for i := range min(len(a), len(b)) {
		if a[i].key != b[i].key || !slices.Equal(a[i].points, b[i].points) {
			return fmt.Sprintf("series %d: %q (%d points) vs %q (%d points)", i, a[i].key, len(a[i].points), b[i].key, len(b[i].points))
		}
	}
	return "the length"
}

// TestMergeResumesOnAnotherOwner: each request goes to another replica
// of its partition, as when a partition moves between every two chunks;
// the cursor makes every owner resume exactly after the last point
// received, so nothing is repeated or skipped.
func TestMergeResumesOnAnotherOwner(t *testing.T) {
	msgs := dataSet(7, 20, func(i int) int { return 300 * (i%4 + 1) })
	const parts = 4
	reps := replicas(t, parts, 3, msgs)
	calls := make([]int, parts)
	m := &merge{window: readWindow, fetch: ownerFetch(reps, kindAll, nil, MinReadChunk, func(p int) int {
		calls[p]++ // each stream's fetches run one at a time
		return calls[p] % 3
	})}
	if got, want := mergeGathered(t, m, parts), expected(msgs); !equalSeries(got, want) {
		t.Fatalf("merged across moving owners: first difference in %s", firstDiff(got, want))
	}
	for p, n := range calls {
		if n < 3 {
			t.Fatalf("partition %d answered in %d chunks: the test needs several", p, n)
		}
	}
}

// TestMergeBoundsChunks: however many chunks the partitions' answers
// take, a read holds at most readWindow chunks a partition at once, so
// the receiving node's memory does not grow with the data; a slow visitor
// holds the fetches back.
func TestMergeBoundsChunks(t *testing.T) {
	msgs := dataSet(3, 150, func(i int) int { return 200 })
	const parts = 8
	reps := replicas(t, parts, 1, msgs)
	inner := ownerFetch(reps, kindAll, nil, MinReadChunk, func(int) int { return 0 })
	var m *merge
	m = &merge{window: readWindow, fetch: func(ctx context.Context, i int, r *readRequest) (chunk, error) {
		c, err := inner(ctx, i, r)
		if live := m.live.Load(); live >= int64(readWindow*parts) {
			return c, fmt.Errorf("fetching with %d chunks held", live)
		}
		return c, err
	}}
	visits := 0
	err := m.run(context.Background(), parts, func([]byte, []store.Point) error {
		visits++
		if live := m.live.Load(); live > int64(readWindow*parts) {
			return fmt.Errorf("%d chunks held while visiting", live)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 30,000 points in answers of 512 bytes: hundreds of them, of which
	// at most 16 were ever held.
	fetches := 0
	for p := range parts {
		r := readRequest{}
		for {
			c, err := inner(context.Background(), p, &r)
			if err != nil {
				t.Fatal(err)
			}
			fetches++
			if c.end {
				break
			}
		}
	}
	if top := m.maxLive.Load(); top > int64(readWindow*parts) || fetches < 6*readWindow*parts {
		t.Fatalf("held at most %d chunks of %d fetched: want at most %d of many more", top, fetches, readWindow*parts)
	}
	t.Logf("%d chunks fetched, at most %d held at once, %d visits", fetches, m.maxLive.Load(), visits)
}

func TestMergeKeysAndOneKey(t *testing.T) {
	msgs := dataSet(5, 60, func(i int) int { return 30 + i })
	const parts = 4
	reps := replicas(t, parts, 1, msgs)
	want := expected(msgs)

	m := &merge{window: readWindow, fetch: ownerFetch(reps, kindKeys, nil, MinReadChunk, func(int) int { return 0 })}
	var keys []string
	if err := m.run(context.Background(), parts, func(key []byte, pts []store.Point) error {
		if len(pts) != 0 {
			t.Fatalf("a key listing carried %d points", len(pts))
		}
		keys = append(keys, string(key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wantKeys []string
	for _, s := range want {
		wantKeys = append(wantKeys, s.key)
	}
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %q, want %q", keys, wantKeys)
	}

	one := want[len(want)-1]
	m = &merge{window: readWindow, fetch: ownerFetch(reps, kindKey, []byte(one.key), MinReadChunk, func(int) int { return 0 })}
	got := mergeGathered(t, m, 1)
	if !equalSeries(got, []gotSeries{one}) {
		t.Fatalf("get %q: %d series", one.key, len(got))
	}
	m = &merge{window: readWindow, fetch: ownerFetch(reps, kindKey, []byte("absent"), MinReadChunk, func(int) int { return 0 })}
	if got := mergeGathered(t, m, 1); len(got) != 0 {
		t.Fatalf("get of an absent key visited %d series", len(got))
	}
}

// TestMergeErrors: a visitor's error comes back as it is, a fetch's error
// ends the read, and either way the fetches stop.
func TestMergeErrors(t *testing.T) {
	msgs := dataSet(9, 100, func(int) int { return 20 })
	reps := replicas(t, 4, 1, msgs)
	stop := errors.New("client gone")
	m := &merge{window: readWindow, fetch: ownerFetch(reps, kindAll, nil, MinReadChunk, func(int) int { return 0 })}
	n := 0
	err := m.run(context.Background(), 4, func([]byte, []store.Point) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if v, ok := errors.AsType[*visitError](err); !ok || v.err != stop {
		t.Fatalf("visitor error came back as %v", err)
	}

	broken := errors.New("owner unreachable")
	inner := ownerFetch(reps, kindAll, nil, MinReadChunk, func(int) int { return 0 })
	m = &merge{window: readWindow, fetch: func(ctx context.Context, i int, r *readRequest) (chunk, error) {
		if i == 2 && r.started {
			return chunk{}, broken
		}
		return inner(ctx, i, r)
	}}
	err = m.run(context.Background(), 4, func([]byte, []store.Point) error { return nil })
	if !errors.Is(err, broken) {
		t.Fatalf("a failed fetch ended the read with %v", err)
	}
	if _, ok := errors.AsType[*visitError](err); ok {
		t.Fatal("a failed fetch was taken for the visitor's error")
	}
}

// TestMergeRefusesDisorder: an owner whose records go backwards (a bug)
// ends the read instead of producing a wrong order.
func TestMergeRefusesDisorder(t *testing.T) {
	enc, err := chunkenc.Append(nil, []store.Point{{Timestamp: 1}})
	if err != nil {
		t.Fatal(err)
	}
	data := appendEncoded(nil, 5, []byte("b"), enc)
	data = appendEncoded(data, 4, []byte("a"), enc)
	m := &merge{window: readWindow, fetch: func(context.Context, int, *readRequest) (chunk, error) {
		return chunk{data: data, end: true}, nil
	}}
	if err := m.run(context.Background(), 1, func([]byte, []store.Point) error { return nil }); !errors.Is(err, errCorrupt) {
		t.Fatalf("records out of order: %v", err)
	}
}

// TestIndexOfStateLoadedWhole: keys that reach a partition other than by
// apply (its state loaded whole, as from a snapshot) are indexed by
// revision too, and so are keys applied after them.
func TestIndexOfStateLoadedWhole(t *testing.T) {
	part := bareP(0)
	part.revs = map[string]uint64{"c": 3, "a": 9, "b": 1}
	for k := range part.revs {
		if err := part.mem.Put([]byte(k), store.Point{Timestamp: 1, Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	part.apply(1, appendRecord(nil, []byte("d"), 2, store.Point{Timestamp: 1, Value: 2}))
	var keys []string
	for _, kr := range part.index() {
		keys = append(keys, kr.key)
	}
	if want := []string{"b", "d", "c", "a"}; !slices.Equal(keys, want) {
		t.Fatalf("index %q, want %q", keys, want)
	}
}

// bareP is a partition outside any cluster, for the tests of chunking and
// merging: apply works (its snapshot bookkeeping sees the default
// threshold) without NATS.
func bareP(p int) *partition {
	e := &Engine{cfg: Config{SnapshotPoints: DefaultSnapshotPoints}}
	return &partition{e: e, p: p, mem: store.NewMemory(), revs: make(map[string]uint64), changed: make(chan struct{})}
}
