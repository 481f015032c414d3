package store

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
)

// Ref is a handle on one series of a Memory: the series' ID, by which a
// write-ahead log and snapshots name it, and its key. Memory is the one
// owner of series and IDs (issue #10): a durable engine asks Ref for the
// series of a put, logs the ID it is handed, and puts by the handle, so it
// keeps no key map or ID counter of its own. The zero Ref is no series.
type Ref struct{ s *series }

// ID is the series' ID: 1, 2, 3... in creation order, never reused.
func (r Ref) ID() uint64 { return r.s.id }

// Key is the series' key: the store's own copy, never changed, valid for as
// long as the store lives.
func (r Ref) Key() []byte { return r.s.key }

// Config configures a Memory built by New.
type Config struct {
	// Limits bound what the Memory holds.
	Limits Limits
	// Created, if set, is told of every series that Ref (or Put) creates,
	// once the series has passed the limits and got its ID. It runs with
	// the lock that orders creations held, so its calls come in ID order;
	// it must not call back into the Memory. Series restored by LoadSeries
	// or RestoreSeries are not reported: they come from a log already.
	Created func(Ref)
	// Logger receives the retention pass's failures; nil discards them.
	Logger *slog.Logger
}

// New returns an empty in-memory engine configured by cfg.
func New(cfg Config) *Memory {
	m := NewMemoryWith(cfg.Limits)
	m.created = cfg.Created
	if cfg.Logger != nil {
		m.log = cfg.Logger
	}
	return m
}

// Ref returns the series of key, creating it if key has none. Everything
// that can refuse a put before it reaches a series is checked here, before
// a series exists or anything is logged: retention refuses ts when it is
// older than the window, MaxFuture when it is too far ahead of the clock,
// MaxKeyLength a new key too long, MaxPoints a new series when the store
// is full, MaxSeries one series too many. Each refusal wraps ErrLimit. key is only
// read during the call; the series copies it when it is created, the one
// copy a put makes.
func (m *Memory) Ref(key []byte, ts int64) (Ref, error) {
	if err := m.checkTime(ts); err != nil {
		return Ref{}, err
	}
	sh := m.shardOf(key)
	if s := m.lookup(sh, key); s != nil {
		return Ref{s}, nil
	}
	if err := m.checkKey(key); err != nil {
		return Ref{}, err
	}
	if n := m.limits.MaxPoints; n > 0 && m.total.Load() >= n {
		return Ref{}, m.errPointLimit() // a new series always adds a point
	}
	s, err := m.seriesFor(sh, key)
	if err != nil {
		return Ref{}, err
	}
	return Ref{s}, nil
}

// PutRef stores p in r's series, replacing a point with the same timestamp
// (last write wins). It checks the time limits again (a log applies a put
// a little after Ref, and replays it much later) and MaxPoints exactly; an error means nothing was
// stored.
func (m *Memory) PutRef(r Ref, p Point) error {
	if err := m.checkTime(p.Timestamp); err != nil {
		return err
	}
	if err := m.put(r.s, p); err != errUnlinked {
		return err
	}
	// The series was deleted after this put was logged: the delete's
	// tombstone follows the put in the log, so the put is deleted with it.
	return nil
}

// Gone reports whether r's series has been deleted (see Unlink): a put
// that holds such a ref must ask Ref again, for the key's new series.
func (r Ref) Gone() bool { return r.s.isGone() }

// Lookup returns the series of key without creating one.
func (m *Memory) Lookup(key []byte) (Ref, bool) {
	s := m.lookup(m.shardOf(key), key)
	if s == nil {
		return Ref{}, false
	}
	return Ref{s}, true
}

// RefByID returns the series whose ID is id, if there is one. It is meant
// for replaying a log, whose point records name series by ID: a binary
// search of the ID-ordered series list.
func (m *Memory) RefByID(id uint64) (Ref, bool) {
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	i, found := slices.BinarySearchFunc(m.order, id, func(o *series, id uint64) int { return cmp.Compare(o.id, id) })
	if !found {
		return Ref{}, false
	}
	return Ref{m.order[i]}, true
}

// RestoreSeries creates key's series with ID id, as a log's series record
// says, without checking the limits (the series passed them when it was
// created) and without reporting it. A record met again (the same key and
// ID, as after a snapshot that already holds the series, or a record
// logged again after a failed write) returns the series as it is; a key or
// an ID that already names something else is an error: the log is
// damaged.
func (m *Memory) RestoreSeries(id uint64, key []byte) (Ref, error) {
	if id == 0 {
		return Ref{}, fmt.Errorf("store: restore %q: series ID 0", key)
	}
	sh := m.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.series[string(key)]; s != nil {
		if s.id != id {
			return Ref{}, fmt.Errorf("store: key %q has series IDs %d and %d", key, s.id, id)
		}
		return Ref{s}, nil
	}
	s := &series{key: append([]byte(nil), key...)}
	if err := m.create(sh, s, id); err != nil {
		return Ref{}, err
	}
	return Ref{s}, nil
}

// SeriesCount returns the number of series, without Stats' look at each.
func (m *Memory) SeriesCount() int {
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	return len(m.order)
}

// LastRef returns the newest series, if there is one.
func (m *Memory) LastRef() (Ref, bool) {
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	if len(m.order) == 0 {
		return Ref{}, false
	}
	return Ref{m.order[len(m.order)-1]}, true
}

// LastID returns the highest series ID given so far, deleted series
// included: a snapshot records it, so that no ID is ever given twice.
func (m *Memory) LastID() uint64 {
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	return m.lastID
}

// RaiseLastID makes the next new series' ID follow id at least, as a
// loaded snapshot's LastID says (the IDs of series deleted before it were
// given too).
func (m *Memory) RaiseLastID(id uint64) {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	m.lastID = max(m.lastID, id)
}
