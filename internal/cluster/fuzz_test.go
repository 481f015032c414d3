package cluster

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"metricsd/internal/chunkenc"
	"metricsd/internal/store"
)

// FuzzDecodeBatch: any bytes on a partition subject decode or fail without
// panicking, and what decodes re-encodes to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendRecord(nil, []byte("palm.cpu"), 3, store.Point{Timestamp: 5, Value: 1.5}))
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		err := decodeBatch(b, func(key []byte, rev uint64, p store.Point) error {
			again = appendRecord(again, key, rev, p)
			return nil
		})
		if err == nil && string(again) != string(b) {
			// Varints have one shortest form; a longer one decodes too,
			// so compare by decoding again.
			var n int
			if decodeBatch(again, func([]byte, uint64, store.Point) error { n++; return nil }) != nil {
				t.Fatalf("re-encoding of %x does not decode", b)
			}
		}
	})
}

// FuzzTakeEncoded: any answer records split or fail without panicking,
// what splits re-encodes to the same records, and a chunk that decodes
// does not allocate beyond chunkenc's bound.
func FuzzTakeEncoded(f *testing.F) {
	chunk, _ := chunkenc.Append(nil, []store.Point{{Timestamp: 1, Value: 2}})
	f.Add(appendEncoded(nil, 1, []byte("k"), chunk))
	f.Add([]byte{1, 1, 'k', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		for rest := b; len(rest) > 0; {
			rev, key, chunk, next, err := takeEncoded(rest)
			if err != nil {
				return
			}
			if pts, err := chunkenc.Decode(nil, chunk); err == nil && len(pts) > chunkenc.MaxPoints {
				t.Fatalf("%d points from one chunk", len(pts))
			}
			again = appendEncoded(again, rev, key, chunk)
			rest = next
		}
		for rest := again; len(rest) > 0; {
			var err error
			if _, _, _, rest, err = takeEncoded(rest); err != nil {
				t.Fatalf("re-encoding of %x does not split: %v", b, err)
			}
		}
	})
}

// FuzzDecodeRequest: any request bytes decode or are refused, and what
// decodes re-encodes to a request that decodes the same.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(appendRequest(nil, &readRequest{kind: kindAll, p: 3, barrier: true}))
	f.Add(appendRequest(nil, &readRequest{kind: kindKey, p: 4095, key: []byte("x"), started: true, cur: cursor{rev: 2, key: []byte("x"), ts: -1}}))
	f.Add(appendRequest(nil, &readRequest{kind: kindKeys, p: 1, minSeq: 5, started: true, cur: cursor{rev: 2, key: []byte("y")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := decodeRequest(b)
		if !ok {
			return
		}
		if r.p >= MaxPartitions || (r.kind != kindKey && r.kind != kindAll && r.kind != kindKeys) {
			t.Fatalf("decodeRequest(%x) = %+v", b, r)
		}
		again := appendRequest(nil, &r)
		if len(again) > len(b) {
			t.Fatalf("re-encoding of %x is longer", b)
		}
		if r2, ok := decodeRequest(again); !ok || r2.kind != r.kind || r2.p != r.p || r2.minSeq != r.minSeq || r2.cur.ts != r.cur.ts {
			t.Fatalf("re-encoding of %x decodes as %+v", b, r2)
		}
	})
}

// FuzzDecodeAnswer: any answer bytes decode or are refused without
// panicking.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(appendAnswerHead(nil, 7, false, &cursor{rev: 1, key: []byte("k"), ts: 3}))
	f.Add(appendAnswerHead(nil, 0, true, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAnswer(b)
		if err != nil {
			return
		}
		var last *cursor
		if a.hasLast {
			last = &a.last
		}
		if got, err := decodeAnswer(append(appendAnswerHead(nil, a.seq, a.end, last), a.records...)); err != nil || got.seq != a.seq || got.end != a.end {
			t.Fatalf("re-encoding of %x decodes as %+v, %v", b, got, err)
		}
	})
}

// FuzzDecodeSnapshot: any bytes read as a snapshot object decode or fail
// with errBadSnapshot, never panic, and never load into an engine what the
// object does not hold: what decodes loads into a partition engine without
// error or is refused as damaged.
func FuzzDecodeSnapshot(f *testing.F) {
	enc := newSnapEncoder(0, 9)
	mem := store.NewMemory()
	for i := range 300 {
		mem.Put([]byte("fuzz.a"), store.Point{Timestamp: int64(i), Value: float64(i) / 2})
	}
	mem.Put([]byte("fuzz.b"), store.Point{Timestamp: -1, Value: 3})
	if err := mem.Snapshot(func(_ uint64, key []byte, chunks [][]byte) error { return enc.add(7, key, chunks) }); err != nil {
		f.Fatal(err)
	}
	f.Add(enc.finish())
	f.Add(newSnapEncoder(0, 0).finish())
	f.Add([]byte(snapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		// As it is, and with its checksum made right, so that the
		// mutations reach the structure behind it.
		fixed := b
		if len(b) >= 4 {
			body := b[:len(b)-4]
			fixed = binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
		}
		for _, in := range [][]byte{b, fixed} {
			_, _, _, err := (&partition{p: 0}).decode(in)
			if err != nil && !errors.Is(err, errBadSnapshot) {
				t.Fatalf("decode error %v does not wrap errBadSnapshot", err)
			}
		}
	})
}
