package chunkenc

import (
	"encoding/binary"
	"math"
	"testing"
)

// pointsFromBytes turns fuzz input into points, 10 bytes each: a kind byte
// choosing how the timestamp steps and what the value is, a step byte, and
// 8 bytes of payload. Most kinds make short decimals, so the decimal paths
// and exponent changes get as much exercise as raw bits.
func pointsFromBytes(data []byte) []Point {
	var pts []Point
	var ts int64
	for len(data) >= 10 && len(pts) < 2000 {
		kind, step, payload := data[0], int64(int8(data[1])), binary.LittleEndian.Uint64(data[2:10])
		data = data[10:]
		switch kind & 3 {
		case 0:
			ts += step
		case 1:
			ts = int64(payload) // any timestamp, so any delta
		default:
			ts++
		}
		var v float64
		switch kind >> 2 & 7 {
		case 0, 1:
			v = math.Float64frombits(payload)
		case 2:
			v = float64(int64(payload)>>(payload&63)) / math.Pow10(int(step&31))
		default:
			v = float64(int32(payload)) / math.Pow10(int(kind>>5))
		}
		pts = append(pts, Point{Timestamp: ts, Value: v})
	}
	return pts
}

// FuzzChunkRoundTrip checks that any run of points comes back bit for bit
// through the block encoder and the Appender, and that Put, given the same
// points in any order, ends with what a map would hold.
func FuzzChunkRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x08\x05\xff\xff\xff\xff\xff\xff\xf8\x7f\x09\x05\x00\x00\x00\x00\x00\x00\x00\x80"))
	f.Add([]byte("\x1c\x01\x39\x30\x00\x00\x00\x00\x00\x00\x3c\x03\x01\x00\x00\x00\x00\x00\x00\x00\xfd\x00\x10\x27\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pts := pointsFromBytes(data)
		checkRoundTrip(t, pts)

		var a Appender
		want := model{}
		var scratch []Point
		for _, p := range pts {
			var err error
			if _, scratch, err = a.Put(p.Timestamp, p.Value, scratch); err != nil {
				t.Fatalf("Put: %v", err)
			}
			want[p.Timestamp] = p.Value
		}
		if len(pts) == 0 {
			return
		}
		got, err := Decode(nil, a.Bytes())
		if err != nil {
			t.Fatalf("Decode after Put: %v", err)
		}
		if w := want.points(); !sameBits(got, w) {
			t.Fatalf("Put: %s", firstDiff(got, w))
		}
	})
}

// FuzzDecode checks that arbitrary bytes never make Decode panic or grow
// its output past the header's count, and that whatever decodes encodes
// again to the same points.
func FuzzDecode(f *testing.F) {
	seed := []Point{{1503319740, 12.5}, {1503319750, 13}, {1503319760, math.NaN()}}
	block, _ := Append(nil, seed[:2])
	f.Add(block)
	bits, _ := Append(nil, seed)
	f.Add(bits)
	var a Appender
	for _, p := range seed {
		if err := a.Append(p.Timestamp, p.Value); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(a.Bytes())
	f.Add([]byte{byte(EncStream), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3f, 0xff})
	f.Fuzz(func(t *testing.T, chunk []byte) {
		pts, err := Decode(nil, chunk)
		if err != nil {
			if len(pts) != 0 {
				t.Fatalf("Decode failed (%v) but returned %d points", err, len(pts))
			}
			return
		}
		_, n, _ := Header(chunk)
		if len(pts) != n || n > MaxPoints {
			t.Fatalf("Decode returned %d points for a count of %d", len(pts), n)
		}
		checkRoundTrip(t, pts)
	})
}
