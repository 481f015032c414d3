package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// point is a decoded point of a points record.
type point struct {
	id uint64
	ts int64
	v  float64
}

// replayed is everything a Replay delivered.
type replayed struct {
	series map[uint64]string
	points []point
}

// replayAll opens the log in dir and replays it from segment from.
func replayAll(t *testing.T, dir string, from uint64, opts Options) (*Log, replayed, error) {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got := replayed{series: map[uint64]string{}}
	err = l.Replay(from, func(typ byte, payload []byte) error {
		switch typ {
		case TypeSeries:
			id, key, err := DecodeSeries(payload)
			if err != nil {
				return err
			}
			got.series[id] = string(key)
		case TypePoints:
			return DecodePoints(payload, func(id uint64, ts int64, v float64) error {
				got.points = append(got.points, point{id, ts, v})
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, got, err
	}
	t.Cleanup(func() { l.Close() })
	return l, got, nil
}

// writeLog writes a fresh log to dir: series 1 and 2, then n points, one
// batch (and so one or more records) per write.
func writeLog(t *testing.T, dir string, opts Options, writes, perWrite int) []point {
	t.Helper()
	l, _, err := replayAll(t, dir, 0, opts)
	if err != nil {
		t.Fatalf("Replay of a new log: %v", err)
	}
	var want []point
	b := NewBatch(1024, DefaultMaxPointsBody)
	b.AddSeries(1, []byte("cpu"))
	b.AddSeries(2, []byte("mem \xff"))
	for w := range writes {
		for i := range perWrite {
			p := point{uint64(1 + i%2), int64(1000 + w*perWrite + i), float64(w) + float64(i)/4}
			b.AddPoint(p.id, p.ts, p.v)
			want = append(want, p)
		}
		if err := l.Write(b.Bytes()); err != nil {
			t.Fatalf("Write: %v", err)
		}
		b.Reset()
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return want
}

func samePoints(a, b []point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id || a[i].ts != b[i].ts || math.Float64bits(a[i].v) != math.Float64bits(b[i].v) {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name            string
		segSize         int64
		writes, perWrit int
		wantSegments    int
	}{
		{"one write", 0, 1, 3, 1},
		{"many writes", 0, 50, 7, 1},
		{"points records split at 32 KiB", 0, 2, 5000, 1},
		{"segments cut", 512, 40, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentSize: tt.segSize}
			want := writeLog(t, dir, opts, tt.writes, tt.perWrit)
			_, got, err := replayAll(t, dir, 0, opts)
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if got.series[1] != "cpu" || got.series[2] != "mem \xff" || len(got.series) != 2 {
				t.Errorf("series = %v", got.series)
			}
			if !samePoints(got.points, want) {
				t.Errorf("replayed %d points, want %d (or different values)", len(got.points), len(want))
			}
			segs, err := listSegments(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) < tt.wantSegments {
				t.Errorf("%d segments, want at least %d", len(segs), tt.wantSegments)
			}
			if tt.segSize > 0 {
				for _, s := range segs {
					if st, _ := os.Stat(segmentPath(dir, s)); st.Size() > tt.segSize {
						t.Errorf("segment %d has %d bytes, over the bound %d", s, st.Size(), tt.segSize)
					}
				}
			}
		})
	}
}

func TestSpecialValuesRoundTrip(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64}
	stamps := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 0, math.MinInt64}
	dir := t.TempDir()
	l, _, err := replayAll(t, dir, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(0, DefaultMaxPointsBody)
	var want []point
	for i, v := range values {
		b.AddPoint(7, stamps[i], v)
		want = append(want, point{7, stamps[i], v})
	}
	if err := l.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, got, err := replayAll(t, dir, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !samePoints(got.points, want) {
		t.Errorf("got %v, want %v", got.points, want)
	}
}

// lastFrameStart returns the offset of the last frame in buf.
func lastFrameStart(t *testing.T, buf []byte) int {
	t.Helper()
	off, last := 0, -1
	for off < len(buf) {
		_, next, err := NextFrame(buf, off)
		if err != nil {
			t.Fatalf("NextFrame at %d: %v", off, err)
		}
		last, off = off, next
	}
	return last
}

func TestTornTailAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	want := writeLog(t, src, Options{}, 3, 4)
	orig, err := os.ReadFile(segmentPath(src, 0))
	if err != nil {
		t.Fatal(err)
	}
	start := lastFrameStart(t, orig)
	kept := want[:8] // the last write's points are in the last frame
	for cut := start; cut < len(orig); cut++ {
		dir := t.TempDir()
		path := segmentPath(dir, 0)
		if err := os.WriteFile(path, orig[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		l, got, err := replayAll(t, dir, 0, Options{})
		if err != nil {
			t.Fatalf("cut at %d: Replay: %v", cut, err)
		}
		if !samePoints(got.points, kept) {
			t.Fatalf("cut at %d: replayed %d points, want %d", cut, len(got.points), len(kept))
		}
		if st, _ := os.Stat(path); st.Size() != int64(start) {
			t.Fatalf("cut at %d: file has %d bytes after repair, want %d", cut, st.Size(), start)
		}
		// The repaired log takes new records after the last good one.
		b := NewBatch(0, DefaultMaxPointsBody)
		b.AddPoint(1, 5000, 1.5)
		if err := l.Write(b.Bytes()); err != nil {
			t.Fatalf("cut at %d: Write after repair: %v", cut, err)
		}
		l.Close()
		if _, got, err = replayAll(t, dir, 0, Options{}); err != nil || len(got.points) != len(kept)+1 {
			t.Fatalf("cut at %d: after a write, Replay gave %d points, err %v", cut, len(got.points), err)
		}
	}
}

func TestTornTailGarbage(t *testing.T) {
	tests := []struct {
		name string
		tail []byte
	}{
		{"zeros after a crash extended the file", make([]byte, 4096)},
		{"a header only", []byte{9, 0, 0, 0, 1, 2, 3, 4}},
		{"a frame whose length runs past the end", []byte("\x40\x00\x00\x00garbage that is not a frame")},
		{"half a header", []byte{9, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			want := writeLog(t, dir, Options{}, 2, 3)
			path := segmentPath(dir, 0)
			good, _ := os.ReadFile(path)
			if err := os.WriteFile(path, append(good, tt.tail...), 0o644); err != nil {
				t.Fatal(err)
			}
			_, got, err := replayAll(t, dir, 0, Options{})
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if !samePoints(got.points, want) {
				t.Errorf("replayed %d points, want %d", len(got.points), len(want))
			}
			if st, _ := os.Stat(path); st.Size() != int64(len(good)) {
				t.Errorf("file has %d bytes, want %d", st.Size(), len(good))
			}
		})
	}
}

// frameOffsets returns the start of every frame in buf.
func frameOffsets(t *testing.T, buf []byte) []int {
	t.Helper()
	var offs []int
	for off := 0; off < len(buf); {
		offs = append(offs, off)
		_, next, err := NextFrame(buf, off)
		if err != nil {
			t.Fatalf("NextFrame at %d: %v", off, err)
		}
		off = next
	}
	return offs
}

func TestFlippedBitInTheMiddle(t *testing.T) {
	src := t.TempDir()
	writeLog(t, src, Options{}, 4, 3)
	orig, _ := os.ReadFile(segmentPath(src, 0))
	offs := frameOffsets(t, orig)
	// Every bit of every frame but the last: each must stop recovery at
	// that frame, and leave the file as it was.
	for f := 0; f < len(offs)-1; f++ {
		for i := offs[f]; i < offs[f+1]; i++ {
			for bit := range 8 {
				dir := t.TempDir()
				path := segmentPath(dir, 0)
				bad := bytes.Clone(orig)
				bad[i] ^= 1 << bit
				if err := os.WriteFile(path, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				_, _, err := replayAll(t, dir, 0, Options{})
				var ce *CorruptionError
				if !errors.As(err, &ce) {
					t.Fatalf("byte %d bit %d: err = %v, want a CorruptionError", i, bit, err)
				}
				if ce.File != path || ce.Offset != int64(offs[f]) {
					t.Fatalf("byte %d bit %d: corruption reported in %s at %d, want %s at %d", i, bit, ce.File, ce.Offset, path, offs[f])
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
					t.Fatalf("byte %d bit %d: the corrupt file was modified", i, bit)
				}
			}
		}
	}
}

func TestCorruptionInAnEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, Options{SegmentSize: 512}, 60, 5)
	path := segmentPath(dir, 0)
	buf, _ := os.ReadFile(path)
	offs := frameOffsets(t, buf)
	last := offs[len(offs)-1]
	buf[last+HeaderSize+2] ^= 0x10 // the last frame of a segment that is not the last
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := replayAll(t, dir, 0, Options{SegmentSize: 512})
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.File != path || ce.Offset != int64(last) || !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want a checksum CorruptionError in %s at %d", err, path, last)
	}
}

func TestEmptySegments(t *testing.T) {
	tests := []struct {
		name  string
		empty []uint64 // segments to create empty
	}{
		{"empty last segment (crash right after a cut)", []uint64{3}},
		{"empty segments only", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var want []point
			if tt.empty != nil {
				want = writeLog(t, dir, Options{SegmentSize: 512}, 10, 5)
				segs, _ := listSegments(dir)
				next := segs[len(segs)-1] + 1
				if err := os.WriteFile(segmentPath(dir, next), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(segmentPath(dir, 0), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			l, got, err := replayAll(t, dir, 0, Options{SegmentSize: 512})
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if !samePoints(got.points, want) {
				t.Errorf("replayed %d points, want %d", len(got.points), len(want))
			}
			b := NewBatch(0, DefaultMaxPointsBody)
			b.AddPoint(1, 1, 1)
			if err := l.Write(b.Bytes()); err != nil {
				t.Errorf("Write into the empty segment: %v", err)
			}
		})
	}
}

func TestMissingSegment(t *testing.T) {
	tests := []struct {
		name   string
		remove uint64
		from   uint64
	}{
		{"a middle segment", 2, 0},
		{"the first segment after a snapshot", 3, 3},
		{"the first segment without a snapshot", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, Options{SegmentSize: 512}, 60, 5)
			if err := os.Remove(segmentPath(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			_, _, err := replayAll(t, dir, tt.from, Options{SegmentSize: 512})
			if !errors.Is(err, ErrMissingSegment) {
				t.Fatalf("err = %v, want ErrMissingSegment", err)
			}
		})
	}
}

func TestReplayFromSkipsCoveredSegments(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, Options{SegmentSize: 512}, 60, 5)
	l, got, err := replayAll(t, dir, 2, Options{SegmentSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.series) != 0 {
		t.Errorf("series records of segment 0 were replayed: %v", got.series)
	}
	if err := l.RemoveBefore(2); err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(dir)
	if segs[0] != 2 {
		t.Errorf("first segment after RemoveBefore(2) is %d", segs[0])
	}
}

func TestUnknownRecordTypeIsCorruption(t *testing.T) {
	dir := t.TempDir()
	buf, start := BeginFrame(nil, 99)
	buf = append(buf, "x"...)
	FinishFrame(buf, start)
	good := NewBatch(0, DefaultMaxPointsBody)
	good.AddSeries(1, []byte("k"))
	if err := os.WriteFile(segmentPath(dir, 0), append(buf, good.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := replayAll(t, dir, 0, Options{})
	if !errors.Is(err, ErrBadRecord) {
		t.Fatalf("err = %v, want ErrBadRecord", err)
	}
}

func TestReplayFuncErrors(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, Options{}, 1, 1)
	stop := errors.New("stop")
	tests := []struct {
		name string
		err  error
		want func(error) bool
	}{
		{"bad record", fmt.Errorf("%w: unknown series", ErrBadRecord), func(err error) bool {
			var ce *CorruptionError
			return errors.As(err, &ce) && ce.Offset == 0
		}},
		{"other error", stop, func(err error) bool { return errors.Is(err, stop) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = l.Replay(0, func(byte, []byte) error { return tt.err })
			if !tt.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestSegmentNames(t *testing.T) {
	tests := []struct {
		name string
		idx  uint64
		ok   bool
	}{
		{"00000000", 0, true},
		{"00000042", 42, true},
		{"123456789", 123456789, true},
		{"0000042", 0, false},
		{"000000042", 0, false},
		{"00000042.tmp", 0, false},
		{"LOCK", 0, false},
	}
	for _, tt := range tests {
		idx, ok := parseSegmentName(tt.name)
		if ok != tt.ok || idx != tt.idx {
			t.Errorf("parseSegmentName(%q) = %d, %v; want %d, %v", tt.name, idx, ok, tt.idx, tt.ok)
		}
	}
	if got := filepath.Base(segmentPath("d", 7)); got != "00000007" {
		t.Errorf("segmentPath = %q", got)
	}
}

// TestSyncerFinishesSegments: under SyncNever and SyncInterval the log's
// own syncer fsyncs and closes each segment the log moves on from, and
// under SyncInterval fsyncs the current one, without Write waiting.
func TestSyncerFinishesSegments(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncNever, SyncInterval} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			dir := t.TempDir()
			ff := &faults{writeAfter: -1}
			opts := Options{SegmentSize: 512, OpenFile: ff.open, Sync: policy, SyncInterval: time.Millisecond}
			l, _, err := replayAll(t, dir, 0, opts)
			if err != nil {
				t.Fatal(err)
			}
			var want []point
			b := NewBatch(0, MaxPointsBody(512))
			for i := range 200 {
				b.AddPoint(1, int64(i), float64(i))
				want = append(want, point{1, int64(i), float64(i)})
				if i%10 == 9 {
					if err := l.Write(b.Bytes()); err != nil {
						t.Fatal(err)
					}
					b.Reset()
				}
			}
			segs, _ := listSegments(dir)
			if len(segs) < 3 {
				t.Fatalf("%d segments, want several", len(segs))
			}
			// Every segment before the current one is fsynced and closed
			// by the syncer; under SyncInterval the current one is fsynced
			// too within a few ticks.
			wantSynced := len(segs) - 1
			if policy == SyncInterval {
				wantSynced = len(segs)
			}
			deadline := time.Now().Add(10 * time.Second)
			for ff.syncedFiles() < wantSynced || ff.closedFiles() < len(segs)-1 {
				if time.Now().After(deadline) {
					t.Fatalf("synced %d files, closed %d; want %d and %d", ff.syncedFiles(), ff.closedFiles(), wantSynced, len(segs)-1)
				}
				time.Sleep(time.Millisecond) // polling a condition, bounded by the deadline
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, r, err := replayAll(t, dir, 0, Options{SegmentSize: 512})
			if err != nil || !samePoints(r.points, want) {
				t.Fatalf("replay: %d points, %v", len(r.points), err)
			}
		})
	}
}

// TestSyncerFailureIsSticky: a failed fsync of the syncer fails every
// later Write and closes Failed.
func TestSyncerFailureIsSticky(t *testing.T) {
	ff := &faults{writeAfter: -1}
	l, _, err := replayAll(t, t.TempDir(), 0, Options{OpenFile: ff.open, Sync: SyncInterval, SyncInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(0, DefaultMaxPointsBody)
	b.AddPoint(1, 1, 1)
	ff.set(func(f *faults) { f.failSync = true })
	if err := l.Write(b.Bytes()); err != nil {
		t.Fatalf("Write under SyncInterval waited for an fsync: %v", err)
	}
	select {
	case <-l.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("the failed fsync did not close Failed")
	}
	if err := l.Write(b.Bytes()); !errors.Is(err, errInjected) {
		t.Fatalf("Write after the failure = %v, want the injected fault", err)
	}
	if err := l.Close(); !errors.Is(err, errInjected) {
		t.Fatalf("Close = %v, want the failure", err)
	}
}
