package store

import (
	"sort"
	"sync"
)

// series holds one key's points sorted by timestamp, at most one point per
// timestamp. Its methods require mu to be held by the caller.
type series struct {
	mu  sync.Mutex
	key []byte // immutable after creation, shared with visitors
	pts []Point
}

// put inserts p, replacing the point at the same timestamp. Points mostly
// arrive in order, so appending is checked first.
func (s *series) put(p Point) {
	n := len(s.pts)
	if n == 0 || p.Timestamp > s.pts[n-1].Timestamp {
		s.pts = append(s.pts, p)
		return
	}
	i := sort.Search(n, func(i int) bool { return s.pts[i].Timestamp >= p.Timestamp })
	if s.pts[i].Timestamp == p.Timestamp {
		s.pts[i].Value = p.Value
		return
	}
	s.pts = append(s.pts, Point{})
	copy(s.pts[i+1:], s.pts[i:])
	s.pts[i] = p
}

// copyAfter appends to dst, up to its capacity, the points with a timestamp
// above after (or all points from the start when first is set).
func (s *series) copyAfter(dst []Point, after int64, first bool) []Point {
	i := 0
	if !first {
		i = sort.Search(len(s.pts), func(i int) bool { return s.pts[i].Timestamp > after })
	}
	n := min(cap(dst)-len(dst), len(s.pts)-i)
	return append(dst, s.pts[i:i+n]...)
}
