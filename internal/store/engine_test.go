package store

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// mustPut stores one point or fails the test.
func mustPut(t testing.TB, m *Memory, key string, ts int64, v float64) {
	t.Helper()
	if err := m.Put([]byte(key), Point{Timestamp: ts, Value: v}); err != nil {
		t.Fatalf("Put(%q, %d, %v): %v", key, ts, v, err)
	}
}

// reference is the model the engine is checked against: per key a map of
// timestamp to value, and the keys in first-put order.
type reference struct {
	keys   []string
	points map[string]map[int64]float64
}

func newReference() *reference {
	return &reference{points: map[string]map[int64]float64{}}
}

func (r *reference) put(key string, ts int64, v float64) {
	pts := r.points[key]
	if pts == nil {
		pts = map[int64]float64{}
		r.points[key] = pts
		r.keys = append(r.keys, key)
	}
	pts[ts] = v
}

func (r *reference) series(key string) []Point {
	var out []Point
	for _, ts := range slices.Sorted(maps.Keys(r.points[key])) {
		out = append(out, pt(ts, r.points[key][ts]))
	}
	return out
}

func (r *reference) total() int {
	n := 0
	for _, pts := range r.points {
		n += len(pts)
	}
	return n
}

// samePoints compares runs by timestamp and value bits (-0.0 and NaN
// payloads included).
func samePoints(a, b []Point) bool {
	return slices.EqualFunc(a, b, func(p, q Point) bool {
		return p.Timestamp == q.Timestamp && math.Float64bits(p.Value) == math.Float64bits(q.Value)
	})
}

// checkAgainst compares everything the engine exposes with the model.
func checkAgainst(t *testing.T, m *Memory, ref *reference) {
	t.Helper()
	got := collectAll(t, m)
	if len(got) != len(ref.keys) {
		t.Fatalf("All visited %d keys, want %d", len(got), len(ref.keys))
	}
	for i, v := range got {
		if v.key != ref.keys[i] {
			t.Fatalf("All key %d = %q, want %q (first-insertion order)", i, v.key, ref.keys[i])
		}
		if want := ref.series(v.key); !samePoints(v.points, want) {
			t.Fatalf("All %q: %d points, want %d; first %v want %v", v.key, len(v.points), len(want), head(v.points), head(want))
		}
		if one := collectKey(t, m, v.key); !samePoints(one, v.points) {
			t.Fatalf("Get(%q) differs from All", v.key)
		}
	}
	series, points := m.Stats()
	if series != len(ref.keys) || points != ref.total() {
		t.Fatalf("Stats = %d series, %d points; want %d, %d", series, points, len(ref.keys), ref.total())
	}
}

func head(pts []Point) []Point { return pts[:min(len(pts), 3)] }

// TestMemoryMatchesModel runs seeded random workloads (in order, jittered,
// overwrites, far into the past, extreme timestamps and values) and
// compares the engine with a map after each batch.
func TestMemoryMatchesModel(t *testing.T) {
	workloads := []struct {
		name string
		ts   func(r *rand.Rand, last int64) int64
	}{
		{"in order", func(r *rand.Rand, last int64) int64 { return last + 1 }},
		{"jittered", func(r *rand.Rand, last int64) int64 { return last + r.Int64N(9) - 3 }},
		{"overwrites", func(r *rand.Rand, last int64) int64 { return 1000 + r.Int64N(600) }},
		{"deep past", func(r *rand.Rand, last int64) int64 {
			if r.IntN(4) == 0 {
				return last - r.Int64N(5000)
			}
			return last + 1
		}},
		{"any timestamp", func(r *rand.Rand, last int64) int64 { return int64(r.Uint64()) }},
	}
	engines := []struct {
		name   string
		limits Limits
	}{
		{"late points buffered", Limits{}},
		// A point limit makes every put count at once: late points go
		// straight into their chunks.
		{"late points direct", Limits{MaxPoints: math.MaxInt64}},
	}
	for i, w := range workloads {
		for _, e := range engines {
			t.Run(w.name+"/"+e.name, func(t *testing.T) {
				runModel(t, rand.New(rand.NewPCG(uint64(i), 99)), NewMemoryWith(e.limits), w.ts)
			})
		}
	}
}

// runModel puts seeded random points into m and a reference model, and
// compares the two after each batch.
func runModel(t *testing.T, r *rand.Rand, m *Memory, tsOf func(r *rand.Rand, last int64) int64) {
	ref := newReference()
	keys := []string{"a", "b.c", "cpu.user", "x"}
	last := map[string]int64{}
	for batch := range 6 {
		for range 1500 {
			key := keys[r.IntN(len(keys))]
			ts := tsOf(r, last[key])
			last[key] = max(last[key], ts)
			v := modelValue(r)
			mustPut(t, m, key, ts, v)
			ref.put(key, ts, v)
		}
		t.Logf("batch %d: %d points", batch, ref.total())
		checkAgainst(t, m, ref)
	}
}

// modelValue mixes the value shapes that pick different encodings.
func modelValue(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0:
		return math.Float64frombits(r.Uint64())
	case 1:
		return []float64{math.Copysign(0, -1), math.NaN(), math.Inf(-1), 1e300, 5e-324}[r.IntN(5)]
	default:
		return float64(r.IntN(10000)) / 100
	}
}

func TestMemoryPutAllocations(t *testing.T) {
	m := NewMemory()
	key := []byte("palm.cpu")
	ts := int64(0)
	// Two sealed chunks first, so the head's buffer has grown to its size.
	for range 2 * chunkPoints {
		mustPut(t, m, string(key), ts, float64(ts%977)/100)
		ts++
	}
	tests := []struct {
		name string
		put  func()
	}{
		{"append to head", func() { ts++; m.Put(key, pt(ts, float64(ts%977)/100)) }},
		{"overwrite newest", func() { m.Put(key, pt(ts, 1.5)) }},
		{"insert into head", func() { m.Put(key, pt(ts-2, 2.5)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The head holds fewer than chunkPoints-100 points here, so
			// these runs never seal: they must not allocate at all.
			if allocs := testing.AllocsPerRun(50, tt.put); allocs != 0 {
				t.Fatalf("Put allocates %v times per call, want 0", allocs)
			}
		})
	}
	t.Run("sealing", func(t *testing.T) {
		// Sealing allocates the sealed chunk, and now and then a longer
		// chunk list or a head buffer refitted to the chunk's size: at
		// most 3 allocations per 256 puts, 0.012 a put.
		const chunks = 20
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range chunks * chunkPoints {
			ts++
			if err := m.Put(key, pt(ts, float64(ts%977)/100)); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.Mallocs - before.Mallocs; n > 3*chunks {
			t.Fatalf("%d puts allocated %d times, want at most %d", chunks*chunkPoints, n, 3*chunks)
		}
	})
}

// TestMemoryConcurrentOutOfOrder has writers put jittered and repeated
// timestamps into shared keys, beside readers, under -race; each writer
// owns a residue class of timestamps so the final content is known.
func TestMemoryConcurrentOutOfOrder(t *testing.T) {
	m := NewMemory()
	const writers, perWriter, keys = 4, 1500, 3
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range perWriter {
				base := int64(i - r.IntN(200)) // often before what is stored
				ts := max(base, 0)*writers + int64(w)
				key := fmt.Sprintf("k%d", i%keys)
				if err := m.Put([]byte(key), pt(ts, float64(ts))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				err := m.All(func(k []byte, pts []Point) error {
					for i := 1; i < len(pts); i++ {
						if pts[i].Timestamp <= pts[i-1].Timestamp {
							return fmt.Errorf("series %s out of order: %d after %d", k, pts[i].Timestamp, pts[i-1].Timestamp)
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_, points := m.Stats()
	seen := 0
	for _, v := range collectAll(t, m) {
		for _, p := range v.points {
			if p.Value != float64(p.Timestamp) {
				t.Fatalf("%s: point %v has another writer's value", v.key, p)
			}
		}
		seen += len(v.points)
	}
	if seen != points {
		t.Fatalf("visited %d points, Stats counts %d", seen, points)
	}
}

func TestMemoryKeys(t *testing.T) {
	m := NewMemory()
	for _, k := range []string{"z", "a", "m", "a", "z"} {
		mustPut(t, m, k, 1, 1)
	}
	var got []string
	if err := m.Keys(func(k []byte) error { got = append(got, string(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"z", "a", "m"}; !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
}

// pt makes a Point; Point is the codec's type, so vet wants its literals
// keyed, and tables read better without the field names.
func pt(ts int64, v float64) Point { return Point{Timestamp: ts, Value: v} }
