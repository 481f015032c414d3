package store

import "errors"

// Deleter is the capability to delete series, which both engines have
// (issue #11.2): the admin API reaches it through this interface only.
type Deleter interface {
	// Delete deletes every series whose key match accepts and returns how
	// many it deleted. When it returns, the deletion is as durable as a put
	// answered ok: a restart does not bring the series back. A key put
	// again afterwards is a new series, at the end of the first-insertion
	// order. match is called with keys that are valid only during the call.
	Delete(match func(key []byte) bool) (int, error)
}

// errUnlinked tells Put that the series it found was deleted meanwhile and
// that it must look the key up again.
var errUnlinked = errors.New("store: series deleted")

// Delete implements Deleter. A put that runs beside it and reaches a
// series before the series is deleted is deleted with it; one that comes
// after creates the series anew.
func (m *Memory) Delete(match func(key []byte) bool) (int, error) {
	var keys [][]byte
	for _, s := range m.series() {
		if match(s.key) {
			keys = append(keys, s.key) // immutable: safe to keep
		}
	}
	n := 0
	for _, k := range keys {
		if m.Unlink(k) {
			n++
		}
	}
	return n, nil
}

// Unlink deletes the series of key, if there is one, and reports whether
// there was: it leaves the key's map at once, gives back its points under
// MaxPoints, and leaves the first-insertion order at the next visit (see
// series), so that deleting many keys costs one pass over the order, not
// one each. The durable engine calls it in its log order.
func (m *Memory) Unlink(key []byte) bool {
	sh := m.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.series[string(key)]
	if s == nil {
		return false
	}
	delete(sh.series, string(key))
	// Not beside a compaction, which counts what it removes: gone and
	// unlinked change together.
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	s.mu.Lock()
	// Late points are merged first so that the count given back is exact.
	sc := m.scratch.get()
	_ = m.settle(s, sc) // a failed merge loses nothing that matters: the series goes
	m.scratch.put(sc)
	if m.limits.MaxPoints > 0 {
		m.total.Add(-int64(s.points))
	}
	s.points, s.sealed, s.late = 0, nil, nil
	s.head.Release()
	s.gone = true
	s.mu.Unlock()
	m.unlinked.Add(1)
	return true
}

// compact removes deleted series from the first-insertion order, into a
// new slice: visits in progress keep the one they hold.
func (m *Memory) compact() {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if m.unlinked.Load() == 0 {
		return
	}
	kept := make([]*series, 0, len(m.order))
	removed := 0
	for _, s := range m.order {
		if s.isGone() {
			removed++
			continue
		}
		kept = append(kept, s)
	}
	m.order = kept
	m.unlinked.Add(-int64(removed))
}

// isGone reports whether s was deleted.
func (s *series) isGone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}
