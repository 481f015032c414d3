package wal

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestDamageOfTheLastSegment is issue #11.5's table: only an incomplete
// last frame or an all-zero tail is a torn write that startup cuts (and
// counts); a complete frame with a bad checksum, even the very last one, or
// zeros over the end of a complete frame stop the start and leave the file
// as it was.
func TestDamageOfTheLastSegment(t *testing.T) {
	src := t.TempDir()
	want := writeLog(t, src, Options{}, 100, 10)
	orig, err := os.ReadFile(segmentPath(src, 0))
	if err != nil {
		t.Fatal(err)
	}
	offs := frameOffsets(t, orig)
	lastStart := offs[len(offs)-1]
	if len(orig) < 8192 {
		t.Fatalf("test log too short: %d bytes", len(orig))
	}
	// frameAt returns the start of the frame holding byte off.
	frameAt := func(off int) int {
		start := 0
		for _, o := range offs {
			if o <= off {
				start = o
			}
		}
		return start
	}
	if frameAt(len(orig)-4096) == len(orig)-4096 {
		t.Fatal("the zeroed 4 KiB start on a frame boundary: make the test log's frames another size")
	}
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		torn    bool // cut at cutAt; else refused with a CorruptionError at cutAt
		cutAt   int
		errWant error
	}{
		{"bit flip in the last record's body", func(b []byte) []byte {
			b[len(b)-3] ^= 0x04
			return b
		}, false, lastStart, ErrChecksum},
		{"bit flip in the last record's checksum", func(b []byte) []byte {
			b[lastStart+5] ^= 0x80
			return b
		}, false, lastStart, ErrChecksum},
		{"zeroed last 4 KiB", func(b []byte) []byte {
			clear(b[len(b)-4096:])
			return b
		}, false, frameAt(len(orig) - 4096), ErrChecksum},
		{"zeros from a frame boundary to the end", func(b []byte) []byte {
			clear(b[offs[len(offs)-3]:])
			return b
		}, true, offs[len(offs)-3], nil},
		{"half-truncated segment", func(b []byte) []byte {
			return b[:len(b)/2]
		}, true, frameAt(len(orig)/2 - 1), nil},
		{"last record cut short", func(b []byte) []byte {
			return b[:len(b)-1]
		}, true, lastStart, nil},
		{"zero length before non-zero bytes", func(b []byte) []byte {
			clear(b[offs[len(offs)-2] : offs[len(offs)-2]+4])
			return b
		}, false, offs[len(offs)-2], ErrZeroLength},
		{"length grown past the end in the middle", func(b []byte) []byte {
			b[offs[3]+2] = 0x7f
			return b
		}, false, offs[3], ErrShortFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := segmentPath(dir, 0)
			bad := tt.damage(bytes.Clone(orig))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			_, got, err := replayAll(t, dir, 0, Options{Registerer: reg})
			repairs, _ := testutil.GatherAndCount(reg, "metricsd_wal_torn_tail_repairs_total")
			if !tt.torn {
				var ce *CorruptionError
				if !errors.As(err, &ce) || ce.File != path || ce.Offset != int64(tt.cutAt) || !errors.Is(err, tt.errWant) {
					t.Fatalf("err = %v, want a CorruptionError (%v) in %s at %d", err, tt.errWant, path, tt.cutAt)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
					t.Fatal("the damaged file was modified")
				}
				return
			}
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if st, _ := os.Stat(path); st.Size() != int64(tt.cutAt) {
				t.Errorf("file has %d bytes after the cut, want %d", st.Size(), tt.cutAt)
			}
			if len(got.points) >= len(want) || !samePoints(got.points, want[:len(got.points)]) {
				t.Errorf("replayed %d points, want a prefix of the %d written", len(got.points), len(want))
			}
			if v := counterValue(t, reg, "metricsd_wal_torn_tail_bytes_total"); repairs != 1 || v != float64(len(bad)-tt.cutAt) {
				t.Errorf("torn tail metrics: %d repair series, %v bytes; want 1 and %d", repairs, v, len(bad)-tt.cutAt)
			}
		})
	}
}

// counterValue is the value of the counter name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestMissingSegmentNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, Options{SegmentSize: 512}, 60, 5)
	if err := os.Remove(segmentPath(dir, 2)); err != nil {
		t.Fatal(err)
	}
	_, _, err := replayAll(t, dir, 0, Options{SegmentSize: 512})
	var me *MissingSegmentError
	if !errors.As(err, &me) || me.Path != segmentPath(dir, 2) || !me.HasNext || me.Next != 3 {
		t.Fatalf("err = %v, want segment 2 missing before 3", err)
	}
	// A snapshot that covers the log before a segment that is gone, with
	// nothing after it: the log after the snapshot is lost, not empty.
	empty := t.TempDir()
	_, _, err = replayAll(t, empty, 7, Options{})
	if !errors.As(err, &me) || me.Path != segmentPath(empty, 7) || me.HasNext {
		t.Fatalf("err = %v, want segment 7 missing with nothing after it", err)
	}
}

func TestDeleteRecord(t *testing.T) {
	b := NewBatch(0, DefaultMaxPointsBody)
	b.AddPoint(1, 10, 1)
	b.AddDelete(300)
	b.AddPoint(2, 11, 2)
	buf := b.Bytes()
	var types []byte
	for off := 0; off < len(buf); {
		body, next, err := NextFrame(buf, off)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, body[0])
		if body[0] == TypeDelete {
			if id, err := DecodeDelete(body[1:]); err != nil || id != 300 {
				t.Fatalf("DecodeDelete = %d, %v", id, err)
			}
		}
		off = next
	}
	if string(types) != string([]byte{TypePoints, TypeDelete, TypePoints}) {
		t.Fatalf("record types %v: a delete must end the open points record", types)
	}
	for _, bad := range [][]byte{nil, {0x80}, {1, 2}} {
		if _, err := DecodeDelete(bad); !errors.Is(err, ErrBadRecord) {
			t.Errorf("DecodeDelete(%v) = %v, want ErrBadRecord", bad, err)
		}
	}
}
