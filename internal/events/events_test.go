package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseTagInputMatchesDjangoTagging(t *testing.T) {
	raw, err := os.ReadFile("testdata/tag_input.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Input string   `json:"input"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, r := range rows {
		if got := parseTagInput(r.Input); !slices.Equal(got, r.Names) && !(len(got) == 0 && len(r.Names) == 0) {
			t.Errorf("parseTagInput(%q) = %q, django-tagging says %q", r.Input, got, r.Names)
		}
	}
}

// sampleEvents are the events of the Find table, in posting order.
var sampleEvents = []Event{
	{WhenUS: 100e6, What: "deploy", Data: "v1", Tags: "web prod"},
	{WhenUS: 200e6, What: "deploy2", Data: "v2", Tags: "web  db"},
	{WhenUS: 300e6, What: "notags"},
	{WhenUS: 400e6, What: "commas", Tags: "a,b c"},
	{WhenUS: 150e6, What: "late post, early time", Tags: "web"},
	{WhenUS: 200e6, What: "same second", Tags: "db"},
}

func fill(t *testing.T, s *Store) {
	t.Helper()
	for _, e := range sampleEvents {
		if _, err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
}

func find(t *testing.T, s *Store, q Query) []Event {
	t.Helper()
	evs, err := s.Find(q)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func whats(evs []Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.What)
	}
	return fmt.Sprintf("%q", out)
}

func TestFind(t *testing.T) {
	s := NewMemory()
	fill(t, s)
	all := Query{FromUS: 0, UntilUS: 1e12}
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"all, by time then id", all, `["deploy" "late post, early time" "deploy2" "same second" "notags" "commas"]`},
		{"from and until inclusive", Query{FromUS: 150e6, UntilUS: 300e6}, `["late post, early time" "deploy2" "same second" "notags"]`},
		{"one tag", Query{UntilUS: 1e12, Tags: []string{"web"}}, `["deploy" "late post, early time" "deploy2"]`},
		{"all tags", Query{UntilUS: 1e12, Tags: []string{"web", "db"}}, `["deploy2"]`},
		{"unknown tags are ignored", Query{UntilUS: 1e12, Tags: []string{"web", "nosuch"}}, `["deploy" "late post, early time" "deploy2"]`},
		{"only unknown tags: nothing", Query{UntilUS: 1e12, Tags: []string{"nosuch"}}, `[]`},
		{"empty tag: nothing", Query{UntilUS: 1e12, Tags: []string{""}}, `[]`},
		{"union", Query{UntilUS: 1e12, Tags: []string{"prod", "db"}, Set: SetUnion}, `["deploy" "deploy2" "same second"]`},
		{"intersection refuses unknown tags", Query{UntilUS: 1e12, Tags: []string{"web", "nosuch"}, Set: SetIntersection}, `[]`},
		{"intersection", Query{UntilUS: 1e12, Tags: []string{"web", "db"}, Set: SetIntersection}, `["deploy2"]`},
		{"intersection counts duplicates", Query{UntilUS: 1e12, Tags: []string{"web", "web"}, Set: SetIntersection}, `[]`},
		// the commas event's tag names are "a" and "b c" (django-tagging),
		// while its answer lists "a,b" and "c" (split on whitespace)
		{"tag names from parse_tag_input", Query{UntilUS: 1e12, Tags: []string{"a"}}, `["commas"]`},
		{"intersection checks the answer's list", Query{UntilUS: 1e12, Tags: []string{"a"}, Set: SetIntersection}, `[]`},
	}
	for _, tt := range tests {
		if got := whats(find(t, s, tt.q)); got != tt.want {
			t.Errorf("%s: Find = %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := find(t, s, all)[3].TagList(); !slices.Equal(got, []string{"db"}) {
		t.Errorf("TagList = %q", got)
	}
}

func TestFileSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", FileName)
	s := NewFile(path, nil)
	if _, err := s.Add(Event{What: "early"}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Add before Open: %v, want ErrNotOpen", err)
	}
	if _, err := s.Find(Query{}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Find before Open: %v, want ErrNotOpen", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("NewFile touched the disk: %v", err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Errorf("second Open: %v", err)
	}
	fill(t, s)
	if _, err := Open(path, nil); err == nil {
		t.Fatal("a second Open of a locked file succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(Event{What: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	s2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	all := Query{UntilUS: 1e12}
	if got, want := whats(find(t, s2, all)), whats(mustFind(t, sampleEvents)); got != want {
		t.Errorf("after reopen: %s, want %s", got, want)
	}
	id, err := s2.Add(Event{WhenUS: 1, What: "after"})
	if err != nil || id != int64(len(sampleEvents)+1) {
		t.Errorf("Add after reopen = %d, %v; want id %d", id, err, len(sampleEvents)+1)
	}
}

// mustFind returns evs as a fresh memory store orders them.
func mustFind(t *testing.T, evs []Event) []Event {
	s := NewMemory()
	for _, e := range evs {
		if _, err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return find(t, s, Query{UntilUS: 1e12})
}

func TestTornTailAndCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	good := `{"id":1,"when_us":1000000,"what":"a","data":"","tags":""}` + "\n"
	tests := []struct {
		name, content string
		wantEvents    int
		wantSize      int64
		corrupt       bool
	}{
		{"empty", "", 0, 0, false},
		{"good", good, 1, int64(len(good)), false},
		{"cut last line", good + `{"id":2,"wh`, 1, int64(len(good)), false},
		{"zeros at the end", good + "\x00\x00\x00\x00", 1, int64(len(good)), false},
		{"bad line then good", "garbage\n" + good, 0, 0, true},
		{"complete bad last line", good + "garbage\n", 0, 0, true},
		{"zeros then a line", good + "\x00\x00" + good, 0, 0, true},
		{"bad id", `{"id":0}` + "\n" + good, 0, 0, true},
	}
	for _, tt := range tests {
		if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, nil)
		if tt.corrupt {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: Open = %v, want ErrCorrupt", tt.name, err)
			}
			if s != nil {
				s.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Open: %v", tt.name, err)
			continue
		}
		if s.Len() != tt.wantEvents {
			t.Errorf("%s: %d events, want %d", tt.name, s.Len(), tt.wantEvents)
		}
		if _, err := s.Add(Event{WhenUS: 5, What: "next"}); err != nil {
			t.Errorf("%s: Add: %v", tt.name, err)
		}
		s.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Open(path, nil)
		if err != nil || s2.Len() != tt.wantEvents+1 {
			t.Errorf("%s: reopen after Add: %v (size %d, kept %d)", tt.name, err, fi.Size(), tt.wantSize)
		}
		if s2 != nil {
			s2.Close()
		}
	}
}

func TestBounds(t *testing.T) {
	s := NewMemory()
	big := make([]byte, MaxEventBytes)
	for i := range big {
		big[i] = 'x'
	}
	if _, err := s.Add(Event{What: "big", Data: string(big)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Add of a huge event: %v, want ErrTooLarge", err)
	}
	for i := range MaxEvents {
		if _, err := s.Add(Event{WhenUS: int64(i), What: "e"}); err != nil {
			t.Fatalf("Add #%d: %v", i, err)
		}
	}
	if _, err := s.Add(Event{What: "one too many"}); !errors.Is(err, ErrFull) {
		t.Errorf("Add past MaxEvents: %v, want ErrFull", err)
	}
}
