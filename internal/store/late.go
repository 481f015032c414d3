package store

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"

	"metricsd/internal/chunkenc"
)

// lateCap is how many out-of-order points a series buffers for its sealed
// chunks before merging them. A put into a sealed chunk costs a decode and
// an encode of 256 points (~9 µs); buffering turns that into one merge per
// chunk per lateCap puts, which keeps agents whose connections interleave
// one series (or that re-send an hour of data) at in-order speed. The
// buffer (at most 1 KiB) exists only while a series has late points.
const lateCap = 64

// isLate reports whether a point at t would not append to the series: it
// belongs in a sealed chunk, or before the head's last point. s.mu must be
// held.
func (s *series) isLate(t int64) bool {
	if !s.inHead(t) {
		return true
	}
	return s.head.Len() > 0 && t < s.head.LastTimestamp()
}

// addLate buffers p, which does not append to the series, replacing a buffered
// point at the same timestamp, and merges the buffer when it is full. It
// returns how many points the series gained by a merge: buffered points
// are counted when merged. s.mu must be held.
func (s *series) addLate(p Point, sp *lazyScratch) (int, error) {
	i, found := slices.BinarySearchFunc(s.late, p.Timestamp, func(q Point, t int64) int { return cmp.Compare(q.Timestamp, t) })
	if found {
		s.late[i].Value = p.Value
		return 0, nil
	}
	s.late = slices.Insert(s.late, i, p)
	if len(s.late) < lateCap {
		return 0, nil
	}
	return s.mergeLate(sp.get())
}

// mergeLate merges the buffered late points into their sealed chunks, one
// decode and encode per chunk touched, and returns how many points the
// series gained. Every reader of the chunks calls it first, so that what it
// reads includes every put answered. s.mu must be held.
func (s *series) mergeLate(sc *scratch) (added int, err error) {
	late := s.late
	// Late points after every sealed point belong to the head: they go
	// first, as merging them may seal the head, which the rest then see.
	if h := s.firstForHead(late); h < len(late) {
		n, err := s.mergeHead(late[h:], sc)
		added += n
		if err != nil {
			return added, err
		}
		late = late[:h]
	}
	for len(late) > 0 {
		// The chunk of the oldest late point takes every late point up to
		// its last timestamp.
		i := sort.Search(len(s.sealed), func(i int) bool { return s.sealed[i].maxT >= late[0].Timestamp })
		k := sort.Search(len(late), func(k int) bool { return late[k].Timestamp > s.sealed[i].maxT })
		n, err := s.mergeChunk(i, late[:k], sc)
		added += n
		if err != nil {
			s.late = append(s.late[:0], late...)
			return added, err
		}
		late = late[k:]
	}
	// The buffer goes with its points: a series holds late-point memory
	// only while it has late points, not for ever after its first one.
	s.late = nil
	return added, nil
}

// firstForHead returns the index of the first late point that belongs in
// the head (after every sealed point), or len(late).
func (s *series) firstForHead(late []Point) int {
	if len(s.sealed) == 0 {
		return 0
	}
	maxT := s.sealed[len(s.sealed)-1].maxT
	return sort.Search(len(late), func(k int) bool { return late[k].Timestamp > maxT })
}

// mergeHead merges pts (sorted, unique, all after every sealed point) into
// the head, rebuilding it, and seals it if it is full.
func (s *series) mergeHead(pts []Point, sc *scratch) (added int, err error) {
	old, err := chunkenc.Decode(sc.pts[:0], s.head.Bytes())
	sc.pts = old
	if err != nil {
		return 0, fmt.Errorf("store: decode head of %q: %w", s.key, err)
	}
	merged, added, changed := mergePoints(sc.merged[:0], old, pts)
	sc.merged = merged
	if !changed {
		return 0, nil
	}
	s.head.Recycle()
	for _, p := range merged {
		if err := s.head.Append(p.Timestamp, p.Value); err != nil {
			return added, fmt.Errorf("store: rebuild head of %q: %w", s.key, err)
		}
	}
	if s.head.Len() >= chunkPoints {
		return added, s.seal(sc)
	}
	return added, nil
}

// mergeChunk merges pts (sorted, unique) into sealed chunk i, splitting it
// if it grows past maxChunkPoints, and returns how many points were new.
func (s *series) mergeChunk(i int, pts []Point, sc *scratch) (added int, err error) {
	old, err := chunkenc.Decode(sc.pts[:0], s.sealed[i].data)
	sc.pts = old
	if err != nil {
		return 0, fmt.Errorf("store: decode chunk of %q: %w", s.key, err)
	}
	merged, added, changed := mergePoints(sc.merged[:0], old, pts)
	sc.merged = merged
	if !changed {
		return 0, nil // a re-send of what the chunk holds
	}
	pieces := (len(merged) + maxChunkPoints - 1) / maxChunkPoints
	size := (len(merged) + pieces - 1) / pieces
	chunks := make([]sealedChunk, 0, pieces)
	for start := 0; start < len(merged); start += size {
		c, err := s.encode(merged[start:min(start+size, len(merged))], sc, nil)
		if err != nil {
			return 0, err
		}
		chunks = append(chunks, c)
	}
	s.sealed = slices.Replace(s.sealed, i, i+1, chunks...)
	return added, nil
}

// mergePoints appends to dst the union of old and late (both sorted and
// unique), late winning at equal timestamps, and reports how many points
// late added and whether anything differs from old.
func mergePoints(dst, old, late []Point) (_ []Point, added int, changed bool) {
	j := 0
	for _, q := range late {
		for j < len(old) && old[j].Timestamp < q.Timestamp {
			dst = append(dst, old[j])
			j++
		}
		if j < len(old) && old[j].Timestamp == q.Timestamp {
			changed = changed || math.Float64bits(old[j].Value) != math.Float64bits(q.Value)
			j++
		} else {
			added++
			changed = true
		}
		dst = append(dst, q)
	}
	return append(dst, old[j:]...), added, changed
}
