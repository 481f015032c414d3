package cluster

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"metricsd/internal/chunkenc"
	"metricsd/internal/store"
)

func TestBatchRoundTrip(t *testing.T) {
	type rec struct {
		key string
		rev uint64
		p   store.Point
	}
	recs := []rec{
		{"a", 1, store.Point{Timestamp: 0, Value: 0}},
		{"palm.cpu", 1 << 40, store.Point{Timestamp: math.MinInt64, Value: math.Inf(-1)}},
		{strings.Repeat("k", 300), 7, store.Point{Timestamp: math.MaxInt64, Value: math.Copysign(0, -1)}},
		{"nan", 2, store.Point{Timestamp: -1, Value: math.Float64frombits(0x7ff8000000000123)}},
	}
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, []byte(r.key), r.rev, r.p)
	}
	var got []rec
	if err := decodeBatch(b, func(key []byte, rev uint64, p store.Point) error {
		got = append(got, rec{string(key), rev, p})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("decoded %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		g, w := got[i], recs[i]
		if g.key != w.key || g.rev != w.rev || g.p.Timestamp != w.p.Timestamp || math.Float64bits(g.p.Value) != math.Float64bits(w.p.Value) {
			t.Errorf("record %d: got %+v, want %+v", i, g, w)
		}
	}
	for cut := range len(b) {
		if cut == 0 {
			continue
		}
		err := decodeBatch(b[:cut], func([]byte, uint64, store.Point) error { return nil })
		boundary := false
		var n []byte
		for _, r := range recs {
			n = appendRecord(n, []byte(r.key), r.rev, r.p)
			boundary = boundary || len(n) == cut
		}
		if (err == nil) != boundary {
			t.Errorf("cut at %d of %d: err %v", cut, len(b), err)
		}
	}
}

func TestEncodedRoundTrip(t *testing.T) {
	chunk, err := chunkenc.Append(nil, []store.Point{{Timestamp: 1, Value: 1.5}, {Timestamp: 2, Value: -3}})
	if err != nil {
		t.Fatal(err)
	}
	first := appendEncoded(nil, 9, []byte("x.y"), chunk)
	b := appendEncoded(first, 3, []byte("z"), nil)
	rev, key, got, rest, err := takeEncoded(b)
	if err != nil || rev != 9 || string(key) != "x.y" || !bytes.Equal(got, chunk) {
		t.Fatalf("first record: %d %q %x %v", rev, key, got, err)
	}
	rev, key, got, rest, err = takeEncoded(rest)
	if err != nil || rev != 3 || string(key) != "z" || len(got) != 0 || len(rest) != 0 {
		t.Fatalf("second record: %d %q %x %q %v", rev, key, got, rest, err)
	}
	for cut := range len(first) {
		if _, _, _, _, err := takeEncoded(b[:cut]); err == nil {
			t.Errorf("a record cut at %d of %d decoded", cut, len(first))
		}
	}
}

func TestKVKey(t *testing.T) {
	f := func(key string, hashed bool) {
		t.Helper()
		name, h := kvKey([]byte(key))
		if h != hashed {
			t.Errorf("kvKey(%.20q): hashed %v, want %v", key, h, hashed)
		}
		if len(name) == 0 || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			t.Errorf("kvKey(%.20q) = %q: not a valid KV key", key, name)
		}
		for _, c := range name {
			if !strings.ContainsRune("-/_=.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", c) {
				t.Errorf("kvKey(%.20q) = %q: %q not allowed in a KV key", key, name, c)
			}
		}
	}
	f("a", false)
	f("palm.cpu", false)
	f("with space*>", false)
	f("\x00\xff\xfe", false)
	f(strings.Repeat("k", 150), false)
	f(strings.Repeat("k", 151), true)
	f(strings.Repeat("é", 5000), true)
	a, _ := kvKey([]byte("a.b"))
	b, _ := kvKey([]byte("a>b"))
	if a == b {
		t.Error("two keys share a KV name")
	}
}

func TestPartitionOfIsStable(t *testing.T) {
	// Pinned: every node and every version must agree on partitions, or a
	// rolling upgrade would split a key's points over two partitions.
	f := func(key string, n, want int) {
		t.Helper()
		if got := PartitionOf([]byte(key), n); got != want {
			t.Errorf("PartitionOf(%q, %d) = %d, want %d", key, n, got, want)
		}
	}
	f("", 64, int(uint64(14695981039346656037)%64))
	f("palm.cpu", 64, PartitionOf([]byte("palm.cpu"), 64))
	f("a", 1, 0)
	counts := make([]int, 64)
	for i := range 64000 {
		counts[PartitionOf([]byte("key"+string(rune('a'+i%26))+string(rune(i))), 64)]++
	}
	for p, c := range counts {
		if c < 700 || c > 1300 {
			t.Errorf("partition %d got %d of 64000 keys", p, c)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []readRequest{
		{kind: kindKey, p: 63, barrier: true, key: []byte("a b")},
		{kind: kindKey, p: 0, minSeq: 1 << 40, key: []byte("k"), started: true, cur: cursor{rev: 7, key: []byte("k"), ts: -5}},
		{kind: kindAll, p: 4095, barrier: true},
		{kind: kindAll, p: 3, minSeq: 12, started: true, cur: cursor{rev: 1 << 50, key: []byte("x.y"), ts: 1 << 60}},
		{kind: kindKeys, p: 1, minSeq: 2, started: true, cur: cursor{rev: 9, key: []byte("n")}},
	} {
		b := appendRequest(nil, &r)
		got, ok := decodeRequest(b)
		if !ok || got.kind != r.kind || got.p != r.p || got.barrier != r.barrier || got.minSeq != r.minSeq ||
			!bytes.Equal(got.key, r.key) || got.started != r.started || got.cur.rev != r.cur.rev ||
			!bytes.Equal(got.cur.key, r.cur.key) || got.cur.ts != r.cur.ts {
			t.Errorf("request %+v decoded as %+v (%v)", r, got, ok)
		}
		if _, ok := decodeRequest(b[:len(b)-1]); ok {
			t.Errorf("request %+v cut by a byte decoded", r)
		}
		if _, ok := decodeRequest(append(b, 0)); ok {
			t.Errorf("request %+v with a byte more decoded", r)
		}
	}
	for _, bad := range [][]byte{nil, {'k'}, {'x', 1, 0, 0}, {'a', 0xff, 0xff, 0xff, 0x7f, 0, 0}, {'a', 1, 4, 0}} {
		if _, ok := decodeRequest(bad); ok {
			t.Errorf("decodeRequest(%q) accepted", bad)
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	recs := appendEncoded(nil, 4, []byte("k"), []byte{1, 2, 3})
	last := cursor{rev: 4, key: []byte("k"), ts: 1}
	for _, tc := range []struct {
		seq  uint64
		end  bool
		last *cursor
	}{{0, true, nil}, {99, false, &last}, {1 << 62, true, &last}} {
		a, err := decodeAnswer(append(appendAnswerHead(nil, tc.seq, tc.end, tc.last), recs...))
		if err != nil || a.seq != tc.seq || a.end != tc.end || a.hasLast != (tc.last != nil) || !bytes.Equal(a.records, recs) {
			t.Fatalf("answer %+v decoded as %+v, %v", tc, a, err)
		}
		if tc.last != nil && (a.last.rev != last.rev || !bytes.Equal(a.last.key, last.key) || a.last.ts != last.ts) {
			t.Fatalf("cursor %+v decoded as %+v", last, a.last)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {1, 4}, {1, 2}, {1, 2, 5}} {
		if _, err := decodeAnswer(bad); err == nil {
			t.Errorf("decodeAnswer(%q) accepted", bad)
		}
	}
}
