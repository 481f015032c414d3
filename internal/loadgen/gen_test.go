package loadgen

import (
	"bytes"
	"math"
	"testing"
	"time"

	"metricsd/internal/protocol"
)

// genConfig is a put workload of n requests over k keys, seed 42.
func genConfig(n int64, k int, order Order, shape Shape) Config {
	cfg := DefaultConfig()
	cfg.Requests, cfg.Keys, cfg.Order, cfg.Values = n, k, order, shape
	cfg.Seed, cfg.Start = 42, 1_700_000_000
	return cfg
}

// perKey collects each key's timestamps and values, in request order.
func perKey(g *Generator, n uint64) (ts map[int][]int64, vals map[int][]float64) {
	ts, vals = map[int][]int64{}, map[int][]float64{}
	for i := range n {
		k, v, t := g.Point(i)
		ts[k] = append(ts[k], t)
		vals[k] = append(vals[k], v)
	}
	return ts, vals
}

func TestKeys(t *testing.T) {
	tests := []struct {
		keys   int
		prefix string
		first  string
		last   string
	}{
		{1, "k", "k0", "k0"},
		{10, "bench.", "bench.0", "bench.9"},
		{11, "", "00", "10"},
		{1000, "m.", "m.000", "m.999"},
	}
	for _, tc := range tests {
		cfg := genConfig(100, tc.keys, OrderInOrder, ShapeRandom)
		cfg.KeyPrefix = tc.prefix
		g := NewGenerator(cfg)
		if got := string(g.Key(0)); got != tc.first {
			t.Errorf("%d keys, prefix %q: first %q, want %q", tc.keys, tc.prefix, got, tc.first)
		}
		if got := string(g.Key(tc.keys - 1)); got != tc.last {
			t.Errorf("%d keys, prefix %q: last %q, want %q", tc.keys, tc.prefix, got, tc.last)
		}
	}
}

func TestOrders(t *testing.T) {
	const n, k = 10_000, 20 // 500 points per key
	tests := []struct {
		order Order
		check func(t *testing.T, ts []int64)
	}{
		{OrderInOrder, func(t *testing.T, ts []int64) {
			for r, v := range ts {
				if v != 1_700_000_000+int64(r) {
					t.Fatalf("round %d: ts %d, want start+%d", r, v, r)
				}
			}
		}},
		{OrderRandom, func(t *testing.T, ts []int64) {
			distinct, ascending := map[int64]bool{}, 0
			for r, v := range ts {
				if v < 1_700_000_000 || v >= 1_700_000_000+n/k {
					t.Fatalf("ts %d outside [start, start+%d)", v, n/k)
				}
				distinct[v] = true
				if r > 0 && v > ts[r-1] {
					ascending++
				}
			}
			// 500 uniform draws from 500 values: about 63% distinct, half ascending.
			if len(distinct) < 250 || ascending < 150 || ascending > 350 {
				t.Errorf("%d distinct, %d ascending steps: not uniform-looking", len(distinct), ascending)
			}
		}},
		{OrderDuplicates, func(t *testing.T, ts []int64) {
			distinct := map[int64]bool{}
			for _, v := range ts {
				distinct[v] = true
			}
			if len(distinct) != DuplicateSpan {
				t.Errorf("%d distinct timestamps, want %d", len(distinct), DuplicateSpan)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.order), func(t *testing.T) {
			ts, _ := perKey(NewGenerator(genConfig(n, k, tc.order, ShapeRandom)), n)
			if len(ts) != k {
				t.Fatalf("%d keys used, want %d", len(ts), k)
			}
			for key := range k {
				if len(ts[key]) != n/k {
					t.Fatalf("key %d got %d points, want %d", key, len(ts[key]), n/k)
				}
				tc.check(t, ts[key])
			}
		})
	}
}

// twoDecimals reports whether v prints with at most 2 decimals.
func twoDecimals(v float64) bool {
	s := protocol.AppendFloat(nil, v)
	dot := bytes.IndexByte(s, '.')
	return dot >= 0 && len(s)-dot-1 <= 2 && !bytes.ContainsAny(s, "en")
}

func TestShapes(t *testing.T) {
	const n, k = 200_000, 10
	tests := []struct {
		shape     Shape
		nonFinite bool
		check     func(t *testing.T, round int, v float64)
		whole     func(t *testing.T, vals []float64)
	}{
		{ShapeCounter, false, func(t *testing.T, r int, v float64) {
			if v != float64(r+1) {
				t.Fatalf("round %d: %v, want %d", r, v, r+1)
			}
		}, nil},
		{ShapeGauge, false, func(t *testing.T, _ int, v float64) {
			if v < 25 || v > 75 || !twoDecimals(v) {
				t.Fatalf("gauge %v: want 50±25 with 2 decimals", v)
			}
		}, func(t *testing.T, vals []float64) {
			for r := 1; r < len(vals); r++ { // one second apart: a slow signal
				if math.Abs(vals[r]-vals[r-1]) > 0.27 {
					t.Fatalf("gauge jumped from %v to %v", vals[r-1], vals[r])
				}
			}
		}},
		{ShapeRandom, false, func(t *testing.T, _ int, v float64) {
			if v < 0 || v >= 100 || !twoDecimals(v) {
				t.Fatalf("random %v: want [0, 100) with 2 decimals", v)
			}
		}, func(t *testing.T, vals []float64) {
			var sum float64
			for _, v := range vals {
				sum += v
			}
			if mean := sum / float64(len(vals)); mean < 47 || mean > 53 {
				t.Errorf("mean %v of uniform [0,100), want about 50", mean)
			}
		}},
		{ShapeFloat64, false, func(t *testing.T, _ int, v float64) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("float64 without --nonfinite drew %v", v)
			}
		}, wideExponents},
		{ShapeFloat64, true, nil, func(t *testing.T, vals []float64) {
			wideExponents(t, vals)
			nonFinite := 0
			for _, v := range vals {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					nonFinite++
				}
			}
			if nonFinite == 0 { // 1 in 2048 bit patterns: about 10 per key here
				t.Error("float64 with --nonfinite drew no NaN or Inf")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.shape), func(t *testing.T) {
			cfg := genConfig(n, k, OrderInOrder, tc.shape)
			cfg.NonFinite = tc.nonFinite
			_, vals := perKey(NewGenerator(cfg), n)
			for key := range k {
				for r, v := range vals[key] {
					if tc.check != nil {
						tc.check(t, r, v)
					}
				}
				if tc.whole != nil {
					tc.whole(t, vals[key])
				}
			}
		})
	}
}

// wideExponents checks that random bit patterns span tiny and huge values.
func wideExponents(t *testing.T, vals []float64) {
	t.Helper()
	var tiny, huge bool
	for _, v := range vals {
		a := math.Abs(v)
		tiny = tiny || (a > 0 && a < 1e-100)
		huge = huge || (a > 1e100 && !math.IsInf(a, 0))
	}
	if !tiny || !huge {
		t.Errorf("float64 values: tiny %v huge %v, want both", tiny, huge)
	}
}

func TestDeterministic(t *testing.T) {
	a := NewGenerator(genConfig(1000, 7, OrderRandom, ShapeRandom))
	b := NewGenerator(genConfig(1000, 7, OrderRandom, ShapeRandom))
	other := genConfig(1000, 7, OrderRandom, ShapeRandom)
	other.Seed = 43
	c := NewGenerator(other)
	same := 0
	for i := range uint64(1000) {
		if !bytes.Equal(a.AppendRequest(nil, i), b.AppendRequest(nil, i)) {
			t.Fatalf("request %d differs between two generators with one seed", i)
		}
		if bytes.Equal(a.AppendRequest(nil, i), c.AppendRequest(nil, i)) {
			same++
		}
	}
	if same > 50 {
		t.Errorf("%d of 1000 requests equal under another seed", same)
	}
}

func TestAppendRequest(t *testing.T) {
	for _, shape := range Shapes {
		cfg := genConfig(1000, 13, OrderRandom, shape)
		cfg.NonFinite = true
		g := NewGenerator(cfg)
		for i := range uint64(1000) {
			line := g.AppendRequest(nil, i)
			var req protocol.Request
			if err := protocol.Parse(line, &req); err != nil {
				t.Fatalf("%s request %d %q: %v", shape, i, line, err)
			}
			k, v, ts := g.Point(i)
			same := req.Value == v || (math.IsNaN(v) && math.IsNaN(req.Value))
			if req.Command != protocol.CmdPut || !bytes.Equal(req.Key, g.Key(k)) || !same || req.Timestamp != ts {
				t.Fatalf("%s request %d %q parses as %+v, want key %s value %v ts %d",
					shape, i, line, req, g.Key(k), v, ts)
			}
			gl := g.AppendGraphite(nil, i)
			if want := line[len("put "):]; !bytes.Equal(gl, want) {
				t.Fatalf("graphite line %q, want %q", gl, want)
			}
		}
	}
}

func TestWorkloadRequests(t *testing.T) {
	tests := []struct {
		workload Workload
		ratio    float64
		wantGets int // of 10,000
		slack    int
	}{
		{WorkloadPut, 0.5, 0, 0},
		{WorkloadGet, 0, 10000, 0},
		{WorkloadGetAll, 0, 10000, 0},
		{WorkloadMixed, 0, 0, 0},
		{WorkloadMixed, 0.25, 2500, 300},
		{WorkloadMixed, 1, 10000, 0},
	}
	for _, tc := range tests {
		cfg := genConfig(10000, 5, OrderInOrder, ShapeRandom)
		cfg.Workload, cfg.GetRatio = tc.workload, tc.ratio
		g := NewGenerator(cfg)
		gets := 0
		for i := range uint64(10000) {
			line := g.AppendRequest(nil, i)
			switch {
			case bytes.HasPrefix(line, []byte("get ")):
				gets++
				want := "get " + string(g.Key(g.KeyOf(i))) + "\n"
				if tc.workload == WorkloadGetAll {
					want = "get *\n"
				}
				if string(line) != want {
					t.Fatalf("%s: %q, want %q", tc.workload, line, want)
				}
			case !bytes.HasPrefix(line, []byte("put ")):
				t.Fatalf("%s: %q is neither a put nor a get", tc.workload, line)
			}
		}
		if gets < tc.wantGets-tc.slack || gets > tc.wantGets+tc.slack {
			t.Errorf("%s ratio %v: %d gets of 10000, want %d±%d", tc.workload, tc.ratio, gets, tc.wantGets, tc.slack)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	g := NewGenerator(genConfig(1000, 1000, OrderRandom, ShapeGauge))
	buf := make([]byte, 0, 1024)
	i := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		buf = g.AppendRequest(buf[:0], i)
		i++
	})
	if allocs != 0 {
		t.Errorf("AppendRequest: %v allocations, want 0", allocs)
	}
}

func TestResolveStart(t *testing.T) {
	cfg := genConfig(10_000, 100, OrderInOrder, ShapeRandom)
	cfg.Start = 0
	now := time.Unix(1_800_000_000, 0)
	if got := ResolveStart(cfg, now).Start; got != 1_800_000_000-100 {
		t.Errorf("Start %d, want now minus 100 points per key", got)
	}
	cfg.Start = 5
	if got := ResolveStart(cfg, now).Start; got != 5 {
		t.Errorf("an explicit Start became %d", got)
	}
}

func TestOwned(t *testing.T) {
	tests := []struct{ keys, conns int }{{1000, 4}, {1000, 50}, {10, 3}, {7, 7}, {5, 1}}
	for _, tc := range tests {
		cfg := genConfig(0, tc.keys, OrderInOrder, ShapeCounter)
		g := NewGenerator(cfg)
		owner := map[int]int{}       // key -> connection
		lastRound := map[int]int64{} // key -> last round sent
		seen := map[uint64]bool{}
		for c := range tc.conns {
			for j := range uint64(3 * tc.keys) {
				i := g.Owned(c, tc.conns, j)
				if seen[i] {
					t.Fatalf("%+v: sequence number %d sent twice", tc, i)
				}
				seen[i] = true
				k := g.KeyOf(i)
				if o, ok := owner[k]; ok && o != c {
					t.Fatalf("%+v: key %d sent by connections %d and %d", tc, k, o, c)
				}
				owner[k] = c
				round := int64(i) / int64(tc.keys)
				if last, ok := lastRound[k]; ok && round != last+1 {
					t.Fatalf("%+v: key %d round %d after %d: not in order", tc, k, round, last)
				}
				lastRound[k] = round
			}
		}
		if len(owner) != tc.keys {
			t.Errorf("%+v: %d keys sent, want all %d", tc, len(owner), tc.keys)
		}
	}
}
