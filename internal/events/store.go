package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of the store.
const (
	// MaxEvents is how many events the store keeps; past it Add refuses.
	// Annotations are deploys and incidents, not samples: 100,000 is years
	// of them, and the file stays a few tens of MiB.
	MaxEvents = 100_000
	// MaxEventBytes bounds an event's encoded size (what, data and tags),
	// which bounds a POST's body too.
	MaxEventBytes = 64 << 10
)

// FileName is the events file's name in the data directory.
const FileName = "events.jsonl"

// Errors of the store.
var (
	ErrFull     = errors.New("events: the store holds MaxEvents events")
	ErrTooLarge = errors.New("events: the event is larger than MaxEventBytes")
	ErrCorrupt  = errors.New("events: corrupt events file")
	ErrClosed   = errors.New("events: store closed")
	ErrNotOpen  = errors.New("events: the events file is not loaded yet")
)

// Event is one Graphite event.
type Event struct {
	ID     int64  `json:"id"`
	WhenUS int64  `json:"when_us"` // Unix microseconds, as graphite-web's datetime keeps them
	What   string `json:"what"`
	Data   string `json:"data"`
	Tags   string `json:"tags"` // as posted: a list is joined with spaces
}

// When returns the event's time.
func (e Event) When() time.Time { return time.UnixMicro(e.WhenUS) }

// TagList is the "tags" list of graphite-web's answer: the tag string
// split on whitespace (Event.as_dict).
func (e Event) TagList() []string { return strings.Fields(e.Tags) }

// Store holds the events, in memory and, for a store made by NewFile, in
// the events file. It is safe for concurrent use.
type Store struct {
	path string       // the events file; "" for a memory store
	log  *slog.Logger // where a truncated torn tail is reported; may be nil

	mu     sync.Mutex
	opened bool     // a file store has loaded its file (a memory store always is)
	events []stored // sorted by time, then ID
	known  map[string]struct{}
	nextID int64
	f      *os.File // nil: memory only
	closed bool
}

// stored is an event with its tag names (parseTagInput), computed once.
type stored struct {
	Event
	names []string
}

// NewMemory returns an empty store that keeps events in memory only.
func NewMemory() *Store {
	return &Store{known: map[string]struct{}{}, nextID: 1, opened: true}
}

// NewFile returns a store kept in the events file at path. It does no I/O:
// Open loads the file, and until then Add and Find answer ErrNotOpen (the
// server opens it once its data directory is recovered). log receives the
// report of a truncated torn tail; nil discards it.
func NewFile(path string, log *slog.Logger) *Store {
	return &Store{path: path, log: log, known: map[string]struct{}{}, nextID: 1}
}

// Open is NewFile followed by Store.Open.
func Open(path string, log *slog.Logger) (*Store, error) {
	s := NewFile(path, log)
	if err := s.Open(); err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens (creating it and its directory if needed) the events file,
// locks it and loads its events. A torn last line is truncated, and logged
// with the bytes dropped. Open of a memory store, or again, does nothing.
func (s *Store) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.opened:
		return nil
	}
	path := s.path
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("events: create directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("events: open %s: %w", path, err)
	}
	if err := s.openFile(f); err != nil {
		f.Close()
		return err
	}
	s.f, s.opened = f, true
	return nil
}

// openFile locks f, loads it and leaves it positioned for appends. s.mu
// must be held.
func (s *Store) openFile(f *os.File) error {
	path := s.path
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("events: lock %s (another metricsd uses it?): %w", path, err)
	}
	good, dropped, err := s.load(f)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrCorrupt, path, err)
	}
	if dropped > 0 {
		if err := f.Truncate(good); err != nil {
			return fmt.Errorf("events: truncate the torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("events: fsync %s: %w", path, err)
		}
		if s.log != nil {
			s.log.Warn("events file had a torn last line; truncated it", "path", path, "offset", good, "bytes_dropped", dropped)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("events: seek %s: %w", path, err)
	}
	return nil
}

// load reads the events of r. It returns the length of the good prefix
// and how many bytes of a torn last line (one without its "\n") follow it;
// any complete line that is not an event is an error naming its offset.
func (s *Store) load(r io.Reader) (good, dropped int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if len(line) == 0 && rerr == io.EOF {
			return good, 0, nil
		}
		if rerr != nil && rerr != io.EOF {
			return 0, 0, fmt.Errorf("read at offset %d: %w", good, rerr)
		}
		if rerr == io.EOF {
			// A last line without its "\n": an append cut short by a crash
			// (a line is written in one write, "\n" included).
			return good, int64(len(line)), nil
		}
		var e Event
		if json.Unmarshal(line, &e) != nil || e.ID <= 0 {
			return 0, 0, fmt.Errorf("bad event at offset %d", good)
		}
		s.insert(e)
		good += int64(len(line))
	}
}

// insert adds e in order. s.mu must be held (or s not yet shared).
func (s *Store) insert(e Event) {
	st := stored{Event: e, names: parseTagInput(e.Tags)}
	i, _ := slices.BinarySearchFunc(s.events, st, func(a, b stored) int {
		if a.WhenUS != b.WhenUS {
			return cmpInt(a.WhenUS, b.WhenUS)
		}
		return cmpInt(a.ID, b.ID)
	})
	s.events = slices.Insert(s.events, i, st)
	for _, n := range st.names {
		s.known[n] = struct{}{}
	}
	s.nextID = max(s.nextID, e.ID+1)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Add stores e under a new ID, which it returns; with a file, the event
// is written and fsynced first, so an event Add returned is durable.
func (s *Store) Add(e Event) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return 0, ErrClosed
	case !s.opened:
		return 0, ErrNotOpen
	case len(s.events) >= MaxEvents:
		return 0, ErrFull
	}
	e.ID = s.nextID
	line, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("events: encode: %w", err)
	}
	if len(line) > MaxEventBytes {
		return 0, ErrTooLarge
	}
	if s.f != nil {
		if err := s.append(append(line, '\n')); err != nil {
			return 0, err
		}
	}
	s.insert(e)
	return e.ID, nil
}

// append writes one line and fsyncs it; after a failed write the file is
// cut back, so that a later event does not follow half a line. s.mu must
// be held.
func (s *Store) append(line []byte) error {
	off, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if _, err := s.f.Write(line); err != nil {
		return errors.Join(fmt.Errorf("events: write: %w", err), s.cut(off))
	}
	if err := s.f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("events: fsync: %w", err), s.cut(off))
	}
	return nil
}

// cut truncates the file back to off after a failed append.
func (s *Store) cut(off int64) error {
	if err := s.f.Truncate(off); err != nil {
		return fmt.Errorf("events: truncate after a failed write: %w", err)
	}
	if _, err := s.f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("events: seek after a failed write: %w", err)
	}
	return nil
}

// Len returns how many events the store holds (0 before Open).
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// Close closes the file (dropping its lock); the store then refuses Add.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("events: close: %w", err)
	}
	return nil
}

// SetOp is get_data's "set" parameter.
type SetOp int

// The set operations of a tag query.
const (
	SetAll          SetOp = iota // default: events with all the known tags asked for
	SetUnion                     // "union": events with any of them
	SetIntersection              // "intersection": all, and every tag asked for is in the answer's list
)

// Query is a GET /events/get_data.
type Query struct {
	FromUS, UntilUS int64    // inclusive bounds, Unix microseconds
	Tags            []string // nil: no tag filter; else the tags parameter split on " "
	Set             SetOp
}

// Find returns the events in [FromUS, UntilUS] that the tags select,
// sorted by time, as graphite-web 1.1.8 selects them with django-tagging:
// the tags asked for count only if some event has them ("known" tags; an
// unknown tag is ignored), and with no known tag nothing matches. SetAll
// selects events that have every known tag, SetUnion those with any, and
// SetIntersection is SetAll followed by graphite-web's own check that each
// tag asked for (duplicates counted) is in the event's TagList.
func (s *Store) Find(q Query) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened {
		return nil, ErrNotOpen
	}
	var known []string
	if q.Tags != nil {
		for _, t := range q.Tags {
			if _, ok := s.known[t]; ok && !slices.Contains(known, t) {
				known = append(known, t)
			}
		}
		if len(known) == 0 {
			return []Event{}, nil
		}
	}
	out := []Event{}
	lo, _ := slices.BinarySearchFunc(s.events, q.FromUS, func(e stored, t int64) int { return cmpInt(e.WhenUS, t) })
	for _, e := range s.events[lo:] {
		if e.WhenUS > q.UntilUS {
			break
		}
		if q.Tags != nil && !selects(e, known, q) {
			continue
		}
		out = append(out, e.Event)
	}
	return out, nil
}

// selects applies the tag part of q to e, known being q's known tags.
func selects(e stored, known []string, q Query) bool {
	has := func(t string) bool { _, ok := slices.BinarySearch(e.names, t); return ok }
	if q.Set == SetUnion {
		return slices.ContainsFunc(known, has)
	}
	for _, t := range known {
		if !has(t) {
			return false
		}
	}
	if q.Set == SetIntersection {
		list := e.TagList()
		n := 0
		for _, t := range uniqueSorted(slices.Clone(q.Tags)) {
			if slices.Contains(list, t) {
				n++
			}
		}
		return n == len(q.Tags)
	}
	return true
}
