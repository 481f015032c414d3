package store

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"metricsd/internal/chunkenc"
)

// snapshotRecord is what one SnapshotFunc call received, copied.
type snapshotRecord struct {
	id     uint64
	key    string
	chunks [][]byte
}

func takeSnapshot(t *testing.T, m *Memory) []snapshotRecord {
	t.Helper()
	var out []snapshotRecord
	err := m.Snapshot(func(id uint64, key []byte, chunks [][]byte) error {
		rec := snapshotRecord{id: id, key: string(key)}
		for _, c := range chunks {
			rec.chunks = append(rec.chunks, bytes.Clone(c))
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return out
}

// TestSnapshotLoadRoundTrip snapshots an engine with long, short,
// out-of-order and odd-valued series, loads the snapshot into a new engine,
// and checks that everything, IDs included, is the same and that puts
// continue.
func TestSnapshotLoadRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	m, ref := NewMemory(), newReference()
	put := func(key string, ts int64, v float64) {
		mustPut(t, m, key, ts, v)
		ref.put(key, ts, v)
	}
	for i := range 3*chunkPoints + 17 {
		put("long", int64(i), float64(r.IntN(10000))/100)
	}
	put("short", 5, math.NaN())
	put("short", 4, math.Copysign(0, -1))
	for range 2 * chunkPoints {
		put("jumbled", r.Int64N(1000), modelValue(r))
	}
	put("exactly one chunk", 0, 0)
	for i := 1; i < chunkPoints; i++ {
		put("exactly one chunk", int64(i), 1)
	}

	snap := takeSnapshot(t, m)
	for i, rec := range snap {
		if rec.id != uint64(i+1) || rec.key != ref.keys[i] {
			t.Fatalf("snapshot record %d = id %d %q, want id %d %q", i, rec.id, rec.key, i+1, ref.keys[i])
		}
	}
	loaded := NewMemory()
	for _, rec := range snap {
		if err := loaded.LoadSeries(rec.id, []byte(rec.key), rec.chunks); err != nil {
			t.Fatalf("LoadSeries: %v", err)
		}
	}
	checkAgainst(t, loaded, ref)
	if again := takeSnapshot(t, loaded); len(again) != len(snap) || again[3].id != 4 {
		t.Fatalf("snapshot of the loaded engine has %d series", len(again))
	}

	// New keys continue after the loaded IDs; old keys take puts anywhere.
	mustPut(t, loaded, "new", 1, 1)
	ref.put("new", 1, 1)
	mustPut(t, loaded, "long", 3*chunkPoints+100, 2)
	ref.put("long", 3*chunkPoints+100, 2)
	mustPut(t, loaded, "long", 7, 3)
	ref.put("long", 7, 3)
	checkAgainst(t, loaded, ref)
	if last := takeSnapshot(t, loaded); last[len(last)-1].id != uint64(len(snap)+1) {
		t.Fatalf("new series got ID %d, want %d", last[len(last)-1].id, len(snap)+1)
	}
}

func TestLoadSeriesSplitsLargeChunks(t *testing.T) {
	pts := make([]Point, 3*maxChunkPoints+5)
	for i := range pts {
		pts[i] = pt(int64(i*10), float64(i))
	}
	big, err := chunkenc.Append(nil, pts)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMemory()
	if err := m.LoadSeries(1, []byte("k"), [][]byte{big}); err != nil {
		t.Fatal(err)
	}
	err = m.Get([]byte("k"), func(_ []byte, batch []Point) error {
		if len(batch) > maxChunkPoints {
			return errors.New("batch larger than a chunk may be")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := collectKey(t, m, "k"); !samePoints(got, pts) {
		t.Fatalf("loaded %d points, want %d", len(got), len(pts))
	}
}

func TestLoadSeriesRejects(t *testing.T) {
	chunk := func(pts ...Point) []byte {
		c, err := chunkenc.Append(nil, pts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := chunk(pt(1, 1), pt(2, 2))
	tests := []struct {
		name   string
		id     uint64
		key    string
		chunks [][]byte
		want   string
	}{
		{"id zero", 0, "new", [][]byte{good}, "ID 0"},
		{"id taken", 3, "new", [][]byte{good}, "is already"},
		{"key already stored", 9, "k", [][]byte{good}, "already stored"},
		{"corrupt chunk", 9, "new", [][]byte{good[:len(good)-1]}, "corrupt"},
		{"unsorted chunk", 9, "new", [][]byte{chunk(pt(2, 1), pt(1, 1))}, "timestamp 1 after 2"},
		{"overlapping chunks", 9, "new", [][]byte{good, chunk(pt(2, 5))}, "timestamp 2 after 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			if err := m.LoadSeries(3, []byte("k"), [][]byte{good}); err != nil {
				t.Fatal(err)
			}
			err := m.LoadSeries(tt.id, []byte(tt.key), tt.chunks)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadSeries = %v, want an error containing %q", err, tt.want)
			}
			if series, points := m.Stats(); series != 1 || points != 2 {
				t.Fatalf("after a refused load: %d series, %d points; want 1, 2", series, points)
			}
		})
	}
}
