package store

import (
	"slices"
	"sort"
)

// EncodedFunc receives one chunk of a series' points encoded as the engine
// holds it (see package chunkenc; chunkenc.Decode decodes it) and the
// timestamp of the chunk's last point. key and chunk are only valid during
// the call; returning an error stops the visit and is returned.
type EncodedFunc func(key, chunk []byte, last int64) error

// Encoded visits key's chunks, encoded, in timestamp order: every chunk
// when first is set, otherwise those whose last point is after after (the
// first of them may hold points at or before after, which the reader
// drops). A reader that sends points on (a cluster owner answering a
// read) so neither decodes nor re-encodes them. Like Get, it lists the
// chunks under the series' lock and calls fn without it.
func (m *Memory) Encoded(key []byte, after int64, first bool, fn EncodedFunc) error {
	s := m.lookup(m.shardOf(key), key)
	if s == nil {
		return nil
	}
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	s.mu.Lock()
	if err := m.settle(s, sc); err != nil {
		s.mu.Unlock()
		return err
	}
	i := 0
	if !first {
		i = sort.Search(len(s.sealed), func(i int) bool { return s.sealed[i].maxT > after })
	}
	// A sealed chunk's bytes never change, but its slot in s.sealed may
	// be replaced (a late point's merge), so the list is copied.
	sealed := slices.Clone(s.sealed[i:])
	var headLast int64
	sc.head = sc.head[:0]
	if s.head.Len() > 0 && (first || s.head.LastTimestamp() > after) {
		sc.head = append(sc.head, s.head.Bytes()...)
		headLast = s.head.LastTimestamp()
	}
	s.mu.Unlock()
	for _, c := range sealed {
		if err := fn(s.key, c.data, c.maxT); err != nil {
			return err
		}
	}
	if len(sc.head) > 0 {
		return fn(s.key, sc.head, headLast)
	}
	return nil
}
