package wal

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// FuzzReplay feeds arbitrary bytes to recovery as the last segment: it must
// never panic, and when it accepts the segment it must have cut it to a
// prefix that a second recovery accepts unchanged.
func FuzzReplay(f *testing.F) {
	b := NewBatch(0, DefaultMaxPointsBody)
	b.AddSeries(1, []byte("cpu"))
	b.AddPoint(1, 10, 1.5)
	b.AddPoint(1, 11, 2.5)
	valid := bytes.Clone(b.Bytes())
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(append(bytes.Clone(valid), 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := segmentPath(dir, 0)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		first, _, err := replayAll(t, dir, 0, Options{})
		if err != nil {
			return // reported corruption: the file must be untouched
		}
		first.Close()
		after, _ := os.ReadFile(path)
		if !bytes.HasPrefix(data, after) {
			t.Fatalf("recovery left %d bytes that are not a prefix of the input", len(after))
		}
		if _, _, err := replayAll(t, dir, 0, Options{}); err != nil {
			t.Fatalf("second recovery of a repaired segment: %v", err)
		}
		again, _ := os.ReadFile(path)
		if !bytes.Equal(again, after) {
			t.Fatalf("second recovery changed the repaired segment")
		}
	})
}

// FuzzPointsRoundTrip encodes points from fuzz input and decodes them back
// unchanged; decoding the raw input as a payload must not panic.
func FuzzPointsRoundTrip(f *testing.F) {
	f.Add([]byte("\x01\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodePoints(data, func(uint64, int64, float64) error { return nil })
		DecodeSeries(data)
		DecodeDelete(data)
		var want []point
		b := NewBatch(0, 64)
		for len(data) >= 24 {
			p := point{
				id: binary.LittleEndian.Uint64(data),
				ts: int64(binary.LittleEndian.Uint64(data[8:])),
				v:  math.Float64frombits(binary.LittleEndian.Uint64(data[16:])),
			}
			b.AddPoint(p.id, p.ts, p.v)
			want = append(want, p)
			data = data[24:]
		}
		var got []point
		buf := b.Bytes()
		for off := 0; off < len(buf); {
			body, next, err := NextFrame(buf, off)
			if err != nil {
				t.Fatalf("NextFrame at %d: %v", off, err)
			}
			err = DecodePoints(body[1:], func(id uint64, ts int64, v float64) error {
				got = append(got, point{id, ts, v})
				return nil
			})
			if err != nil {
				t.Fatalf("DecodePoints: %v", err)
			}
			off = next
		}
		if !samePoints(got, want) {
			t.Fatalf("round trip: got %v, want %v", got, want)
		}
	})
}
