package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"metricsd/internal/chunkenc"
	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// series is one series as written or loaded.
type series struct {
	id  uint64
	key string
	pts []store.Point
}

// write writes in as a snapshot, each series' points encoded in chunks of
// at most batch points.
func write(t *testing.T, dir string, seg uint64, in []series, batch int) Info {
	t.Helper()
	w, err := Create(dir, seg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range in {
		var chunks [][]byte
		for i := 0; i < len(s.pts); i += batch {
			c, err := chunkenc.Append(nil, s.pts[i:min(i+batch, len(s.pts))])
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, c)
		}
		if err := w.Add(s.id, []byte(s.key), chunks); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return info
}

// load loads a snapshot, decoding its chunks back to points.
func load(path string) ([]series, Info, error) {
	var out []series
	info, err := Load(path, func(id uint64, key []byte, chunks [][]byte) error {
		s := series{id: id, key: string(key)}
		for _, c := range chunks {
			pts, err := chunkenc.Decode(s.pts, c)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
			}
			s.pts = pts
		}
		out = append(out, s)
		return nil
	})
	return out, info, err
}

func samePoints(a, b []store.Point) bool {
	return slices.EqualFunc(a, b, func(p, q store.Point) bool {
		return p.Timestamp == q.Timestamp && math.Float64bits(p.Value) == math.Float64bits(q.Value)
	})
}

func ramp(n int, start int64) []store.Point {
	pts := make([]store.Point, n)
	for i := range pts {
		pts[i] = store.Point{Timestamp: start + int64(i), Value: float64(i) * 0.5}
	}
	return pts
}

func TestRoundTrip(t *testing.T) {
	special := []store.Point{
		{Timestamp: math.MinInt64, Value: math.Inf(-1)},
		{Timestamp: -1, Value: math.Copysign(0, -1)},
		{Timestamp: 0, Value: math.NaN()},
		{Timestamp: math.MaxInt64, Value: math.SmallestNonzeroFloat64},
	}
	tests := []struct {
		name  string
		in    []series
		batch int
	}{
		{"empty store", nil, 1},
		{"a few series", []series{{1, "cpu", ramp(3, 100)}, {2, "mem", ramp(1, 7)}, {3, "", ramp(2, 0)}}, 512},
		{"special values", []series{{1, "x \xff", special}}, 2},
		{"long series in many records", []series{{1, "long", ramp(20000, 1e9)}, {2, "after", ramp(5, 1)}}, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			info := write(t, dir, 42, tt.in, tt.batch)
			got, linfo, err := load(info.Path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if linfo != info {
				t.Errorf("Load info %+v, Commit info %+v", linfo, info)
			}
			if linfo.Segment != 42 || filepath.Base(info.Path) != "snapshot-00000042" {
				t.Errorf("segment %d, path %s", linfo.Segment, info.Path)
			}
			if len(got) != len(tt.in) {
				t.Fatalf("loaded %d series, want %d", len(got), len(tt.in))
			}
			for i := range got {
				if got[i].id != tt.in[i].id || got[i].key != tt.in[i].key || !samePoints(got[i].pts, tt.in[i].pts) {
					t.Errorf("series %d: got id %d key %q %d points, want id %d key %q %d points",
						i, got[i].id, got[i].key, len(got[i].pts), tt.in[i].id, tt.in[i].key, len(tt.in[i].pts))
				}
			}
			if _, err := os.Stat(info.Path + tmpSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary file left behind: %v", err)
			}
		})
	}
}

func TestEveryDamageIsDetected(t *testing.T) {
	dir := t.TempDir()
	info := write(t, dir, 3, []series{{1, "cpu", ramp(4, 10)}, {2, "mem", ramp(3, 20)}}, 2)
	orig, err := os.ReadFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, data []byte) {
		t.Helper()
		path := filepath.Join(t.TempDir(), Name(3))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := load(path)
		var ce *wal.CorruptionError
		if !errors.As(err, &ce) || ce.File != path || !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%s: err = %v, want a CorruptionError naming %s", what, err, path)
		}
		if ce.Offset < 0 || ce.Offset > int64(len(data)) {
			t.Fatalf("%s: offset %d outside the file", what, ce.Offset)
		}
	}
	for i := range orig {
		bad := bytes.Clone(orig)
		bad[i] ^= 0x04
		check("flipped byte", bad)
		check("truncated", orig[:i])
	}
	check("trailing bytes", append(bytes.Clone(orig), 0))
}

func TestListAndRemove(t *testing.T) {
	dir := t.TempDir()
	for _, seg := range []uint64{7, 2, 12} {
		write(t, dir, seg, []series{{1, "k", ramp(1, 1)}}, 1)
	}
	for _, name := range []string{"snapshot-00000013.tmp", "snapshot-x", "00000001", "snapshot-0000001"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := List(dir)
	if err != nil || !slices.Equal(segs, []uint64{2, 7, 12}) {
		t.Fatalf("List = %v, %v", segs, err)
	}
	if err := RemoveTemp(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot-00000013.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RemoveTemp left the .tmp file: %v", err)
	}
	if err := RemoveBefore(dir, 12); err != nil {
		t.Fatal(err)
	}
	if segs, _ := List(dir); !slices.Equal(segs, []uint64{12}) {
		t.Errorf("after RemoveBefore(12): %v", segs)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot-x")); err != nil {
		t.Errorf("a file that is not a snapshot was removed: %v", err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(1, []byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Abort left %d files", len(entries))
	}
}

func TestLoadFuncErrorStops(t *testing.T) {
	dir := t.TempDir()
	info := write(t, dir, 1, []series{{1, "a", ramp(1, 1)}, {2, "b", ramp(1, 1)}}, 1)
	stop := errors.New("stop")
	calls := 0
	_, err := Load(info.Path, func(uint64, []byte, [][]byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("err = %v after %d calls, want stop after 1", err, calls)
	}
}

// FuzzLoad loads arbitrary bytes: never a panic, and anything accepted
// must write back to a snapshot that loads the same.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	w, _ := Create(dir, 1)
	c, _ := chunkenc.Append(nil, ramp(3, 5))
	w.Add(1, []byte("cpu"), [][]byte{c})
	info, err := w.Commit()
	if err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(info.Path)
	f.Add(good)
	f.Add(good[:headerSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), Name(1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, info, err := load(path)
		if err != nil {
			return
		}
		again := write(t, t.TempDir(), info.Segment, got, chunkenc.MaxPoints)
		back, _, err := load(again.Path)
		if err != nil || len(back) != len(got) {
			t.Fatalf("an accepted snapshot written back does not load the same: %v", err)
		}
		for i := range back {
			if back[i].id != got[i].id || back[i].key != got[i].key || !samePoints(back[i].pts, got[i].pts) {
				t.Fatalf("series %d differs after writing back", i)
			}
		}
	})
}

func TestLastIDRoundTrip(t *testing.T) {
	for _, last := range []uint64{0, 3, 1 << 40} {
		dir := t.TempDir()
		w, err := Create(dir, 5)
		if err != nil {
			t.Fatal(err)
		}
		w.SetLastID(last)
		info, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Verify(info.Path)
		if err != nil || got.LastID != last || info.LastID != last {
			t.Fatalf("last id %d: Commit %d, Verify %d, %v", last, info.LastID, got.LastID, err)
		}
	}
}
