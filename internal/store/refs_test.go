package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestRefChecksLimitsBeforeCreating: a refused put creates no series and
// reports none, so that a log never hears of a key the store refused
// (issue #10).
func TestRefChecksLimitsBeforeCreating(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		fill   []string // keys put first, at timestamp 1000
		key    string
		ts     int64
	}{
		{"max series", Limits{MaxSeries: 1}, []string{"a"}, "b", 1000},
		{"max points", Limits{MaxPoints: 1}, []string{"a"}, "b", 1000},
		{"retention", Limits{Retention: 100, Now: fixedClock(1000)}, []string{"a"}, "b", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var created []uint64
			m := New(Config{Limits: tt.limits, Created: func(r Ref) { created = append(created, r.ID()) }})
			for _, k := range tt.fill {
				mustPut(t, m, k, 1000, 1)
			}
			if _, err := m.Ref([]byte(tt.key), tt.ts); !errors.Is(err, ErrLimit) {
				t.Fatalf("Ref(%s) = %v, want a limit", tt.key, err)
			}
			if !slices.Equal(created, []uint64{1}) {
				t.Fatalf("created reported %v, want [1]", created)
			}
			if series, _ := m.Stats(); series != len(tt.fill) {
				t.Fatalf("%d series, want %d", series, len(tt.fill))
			}
		})
	}
}

func TestRefIDsAndCreation(t *testing.T) {
	var created []string
	m := New(Config{Limits: Limits{}, Created: func(r Ref) { created = append(created, string(r.Key())) }})
	a, err := m.Ref([]byte("a"), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Ref([]byte("b"), 1)
	again, _ := m.Ref([]byte("a"), 2)
	if a.ID() != 1 || b.ID() != 2 || again != a {
		t.Fatalf("refs a=%d b=%d again=%d, want 1, 2, 1", a.ID(), b.ID(), again.ID())
	}
	if !slices.Equal(created, []string{"a", "b"}) {
		t.Fatalf("created %v, want [a b]", created)
	}
	if err := m.PutRef(b, pt(5, 1.5)); err != nil {
		t.Fatal(err)
	}
	if got, ok := m.RefByID(2); !ok || got != b {
		t.Fatalf("RefByID(2) = %v, %v", got, ok)
	}
	if _, ok := m.RefByID(3); ok {
		t.Fatal("RefByID(3) found a series")
	}
	if got := collectAll(t, m); len(got) != 1 || got[0].key != "b" {
		t.Fatalf("stored %v, want only b's point", got)
	}
}

func TestRestoreSeries(t *testing.T) {
	m := New(Config{Limits: Limits{MaxSeries: 1}, Created: func(Ref) { t.Fatal("a restored series was reported as created") }})
	for _, id := range []uint64{5, 2} { // a record logged again may come late
		if _, err := m.RestoreSeries(id, []byte{byte('a' + id)}); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := m.RestoreSeries(5, []byte("f")); err != nil || r.ID() != 5 {
		t.Fatalf("the same record again: %v, %v", r, err)
	}
	var keys []string
	m.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil })
	if !slices.Equal(keys, []string{"c", "f"}) {
		t.Fatalf("keys %v, want ID order [c f]", keys)
	}
	for _, tt := range []struct {
		id   uint64
		key  string
		want string
	}{{5, "x", "is already"}, {7, "f", "series IDs 5 and 7"}, {0, "y", "ID 0"}} {
		if _, err := m.RestoreSeries(tt.id, []byte(tt.key)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RestoreSeries(%d, %s) = %v, want %q", tt.id, tt.key, err, tt.want)
		}
	}
	r, err := m.Ref([]byte("g"), 1)
	if err == nil {
		t.Fatalf("Ref past MaxSeries after restores gave %d", r.ID())
	}
}
