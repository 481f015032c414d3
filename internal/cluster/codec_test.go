package cluster

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

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

func TestSeriesRoundTrip(t *testing.T) {
	pts := []store.Point{{Timestamp: 1, Value: 1.5}, {Timestamp: 2, Value: -3}}
	b := appendSeries(nil, 9, []byte("x.y"), pts)
	b = appendSeries(b, 3, []byte("z"), nil)
	got, err := decodeSeries(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].rev != 9 || string(got[0].key) != "x.y" || !slices.Equal(got[0].points, pts) ||
		got[1].rev != 3 || string(got[1].key) != "z" || len(got[1].points) != 0 {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := decodeSeries(b[:len(b)-1], nil); err == nil {
		t.Error("a truncated answer decoded")
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
	kind, p, key, ok := decodeRequest(encodeRequest(kindKey, 63, []byte("a b")))
	if !ok || kind != kindKey || p != 63 || !bytes.Equal(key, []byte("a b")) {
		t.Errorf("got %c %d %q %v", kind, p, key, ok)
	}
	for _, bad := range [][]byte{nil, {'k'}, {'x', 1}, append([]byte{'a'}, 0xff, 0xff, 0xff, 0x7f)} {
		if _, _, _, ok := decodeRequest(bad); ok {
			t.Errorf("decodeRequest(%q) accepted", bad)
		}
	}
}
