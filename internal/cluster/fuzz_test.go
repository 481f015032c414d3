package cluster

import (
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
