package graphiteweb

import (
	"context"
	"fmt"
	"testing"

	"metricsd/internal/store"
)

// TestFindFirstMatchesFind checks that FindFirst returns Find's first
// nodes, whatever the cap and the insertion order, so the cap never drops a
// node that sorts before one it keeps or loses a node's leaf/branch flags.
func TestFindFirstMatchesFind(t *testing.T) {
	st := store.NewMemory()
	// Keys inserted in a scrambled order, some both leaf and branch.
	for i := range 500 {
		j := (i * 7919) % 500
		putOne(t, st, fmt.Sprintf("k%03d", j), 1)
		if j%3 == 0 {
			putOne(t, st, fmt.Sprintf("k%03d.sub", j), 1)
		}
	}
	for _, query := range []string{"*", "k1*", "k00?", "k0*.*", "nomatch*"} {
		p, err := CompilePattern(query)
		if err != nil {
			t.Fatal(err)
		}
		all, err := Find(context.Background(), st, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 2, 7, 100, 499, 500, 501, 10000} {
			got, err := FindFirst(context.Background(), st, p, limit)
			if err != nil {
				t.Fatal(err)
			}
			want := all[:min(limit, len(all))]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("FindFirst(%q, %d) = %d nodes %v..., want %d nodes %v...", query, limit, len(got), head(got), len(want), head(want))
			}
		}
	}
}

func head(n []Node) []Node { return n[:min(3, len(n))] }

func putOne(t *testing.T, st store.Storage, key string, v float64) {
	t.Helper()
	if err := st.Put([]byte(key), store.Point{Timestamp: 1, Value: v}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkFindCapped1M is the key browser's worst case: a million keys at
// one level, all matching. FindFirst (the browser's limit=1001) against
// Find (the whole level) in the same run; docs/ui.md has the figures.
func BenchmarkFindCapped1M(b *testing.B) {
	st := store.NewMemory()
	for i := range 1_000_000 {
		if err := st.Put(fmt.Appendf(nil, "k%07d", (i*7919)%1_000_000), store.Point{Timestamp: 1, Value: 1}); err != nil {
			b.Fatal(err)
		}
	}
	p, err := CompilePattern("k*")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("FindFirst=1001", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, err := FindFirst(context.Background(), st, p, 1001); err != nil || len(n) != 1001 {
				b.Fatal(len(n), err)
			}
		}
	})
	b.Run("Find", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, err := Find(context.Background(), st, p); err != nil || len(n) != 1_000_000 {
				b.Fatal(len(n), err)
			}
		}
	})
}
