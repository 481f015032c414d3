package graphiteweb

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"metricsd/internal/store"
)

// newTestStore returns a memory store holding one point per key, put in
// the order given.
func newTestStore(t testing.TB, keys ...string) *store.Memory {
	t.Helper()
	st := store.NewMemory()
	for i, k := range keys {
		if err := st.Put([]byte(k), store.Point{Timestamp: int64(100 + i), Value: float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func mustPattern(t testing.TB, s string) *Pattern {
	t.Helper()
	p, err := CompilePattern(s)
	if err != nil {
		t.Fatalf("CompilePattern(%q): %v", s, err)
	}
	return p
}

// allOnly hides store.Memory's Keys, so that a test takes the path of an
// engine without a key listing: a walk of Storage.All.
type allOnly struct{ store.Storage }

// bothPaths runs a test on st through its key listing and through All.
func bothPaths(t *testing.T, st *store.Memory, test func(t *testing.T, st store.Storage)) {
	t.Run("Keys", func(t *testing.T) { test(t, st) })
	t.Run("All", func(t *testing.T) { test(t, allOnly{st}) })
}

func TestFind(t *testing.T) {
	bothPaths(t, newTestStore(t, "palm.cpu", "palm.mem.used", "palm.mem.free", "oak.cpu", "palm.disk", "palm.disk.sda", "test_key"), testFind)
}

func testFind(t *testing.T, st store.Storage) {
	tests := []struct {
		query string
		want  string // Path:L(eaf)/B(ranch) flags
	}{
		{"*", "[oak:B palm:B test_key:L]"},
		{"palm.*", "[palm.cpu:L palm.disk:LB palm.mem:B]"},
		{"palm.mem.*", "[palm.mem.free:L palm.mem.used:L]"},
		{"*.cpu", "[oak.cpu:L palm.cpu:L]"},
		{"palm.{cpu,mem}", "[palm.cpu:L palm.mem:B]"},
		{"nothing.*", "[]"},
		{"palm.cpu.*", "[]"},
	}
	for _, tt := range tests {
		nodes, err := Find(context.Background(), st, mustPattern(t, tt.query))
		if err != nil {
			t.Fatalf("Find(%q): %v", tt.query, err)
		}
		var got []string
		for _, n := range nodes {
			flags := ""
			if n.Leaf {
				flags += "L"
			}
			if n.Branch {
				flags += "B"
			}
			got = append(got, n.Path+":"+flags)
		}
		if fmt.Sprint(got) != tt.want && !(len(got) == 0 && tt.want == "[]") {
			t.Errorf("Find(%q) = %v, want %s", tt.query, got, tt.want)
		}
	}
}

// TestFindLongSeries checks that a key whose points come in several
// batches is still found once.
func TestFindLongSeries(t *testing.T) {
	st := store.NewMemory()
	for i := range 5000 {
		st.Put([]byte("long.series"), store.Point{Timestamp: int64(i), Value: 1})
	}
	st.Put([]byte("long.other"), store.Point{Timestamp: 1, Value: 1})
	bothPaths(t, st, func(t *testing.T, st store.Storage) {
		keys, err := Index(context.Background(), st)
		if err != nil || fmt.Sprint(keys) != "[long.other long.series]" {
			t.Fatalf("Index = %v, %v", keys, err)
		}
	})
}

func TestFindStopsWhenCancelled(t *testing.T) {
	st := store.NewMemory()
	for i := range 3 * 1024 { // past store.ForEachKey's context check interval
		st.Put(fmt.Appendf(nil, "k%d", i), store.Point{Timestamp: 1, Value: 1})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bothPaths(t, st, func(t *testing.T, st store.Storage) {
		if _, err := Find(ctx, st, mustPattern(t, "*")); err != context.Canceled {
			t.Errorf("Find with a cancelled context = %v, want context.Canceled", err)
		}
	})
}

func TestAppendTreeJSON(t *testing.T) {
	st := newTestStore(t, "palm.cpu", "palm.mem.used", "palm.disk", "palm.disk.sda", "oak.cpu")
	tests := []struct {
		query                 string
		wildcards, leavesOnly bool
		want                  string
	}{
		{"palm.*", false, false, `[` +
			`{"text": "disk", "id": "palm.disk", "allowChildren": 1, "expandable": 1, "leaf": 0}, ` +
			`{"text": "mem", "id": "palm.mem", "allowChildren": 1, "expandable": 1, "leaf": 0}, ` +
			`{"text": "cpu", "id": "palm.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}]`},
		{"palm.*", false, true, `[` +
			`{"text": "cpu", "id": "palm.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}, ` +
			`{"text": "disk", "id": "palm.disk", "allowChildren": 0, "expandable": 0, "leaf": 1}]`},
		// Names repeat across parents: listed once; the id keeps the query's glob.
		{"*.cpu", true, false, `[` +
			`{"text": "*", "id": "*.*", "allowChildren": 0, "expandable": 0, "leaf": 1}, ` +
			`{"text": "cpu", "id": "*.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}]`},
		{"*", true, false, `[` +
			`{"text": "*", "id": "*", "allowChildren": 1, "expandable": 1, "leaf": 0}, ` +
			`{"text": "oak", "id": "oak", "allowChildren": 1, "expandable": 1, "leaf": 0}, ` +
			`{"text": "palm", "id": "palm", "allowChildren": 1, "expandable": 1, "leaf": 0}]`},
		{"palm.cpu", true, false, `[{"text": "cpu", "id": "palm.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}]`},
		{"none", false, false, `[]`},
	}
	for _, tt := range tests {
		nodes, err := Find(context.Background(), st, mustPattern(t, tt.query))
		if err != nil {
			t.Fatal(err)
		}
		got := string(AppendTreeJSON(nil, nodes, tt.query, tt.wildcards, tt.leavesOnly))
		if got != tt.want {
			t.Errorf("tree JSON of %q (wildcards %v, leavesOnly %v):\n got %s\nwant %s", tt.query, tt.wildcards, tt.leavesOnly, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON: %s", got)
		}
	}
}

func TestIndexJSON(t *testing.T) {
	st := newTestStore(t, "b.x", "a.y", "é\"q")
	keys, err := Index(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	got := string(AppendIndexJSON(nil, keys))
	if want := `["a.y", "b.x", "\u00e9\"q"]`; got != want {
		t.Errorf("index JSON = %s, want %s", got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\x7f\n\r\t\b\f", "é😀", "bad\xffutf8", "<&>"} {
		out := appendJSONString(nil, s)
		for _, c := range out {
			if c >= 0x80 {
				t.Errorf("appendJSONString(%q) = %s: not ASCII", s, out)
			}
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("appendJSONString(%q) = %s: %v", s, out, err)
		}
		want := string([]rune(s)) // invalid UTF-8 reads back as U+FFFD
		if back != want {
			t.Errorf("appendJSONString(%q) reads back as %q", s, back)
		}
	}
}
