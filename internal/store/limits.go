package store

import (
	"fmt"
	"math"
)

// Limits bound what a Memory holds. The zero value bounds nothing.
type Limits struct {
	// MaxSeries bounds the number of keys; a put that would create one more
	// is refused. 0: no bound.
	MaxSeries int
	// MaxPoints bounds the number of points; a put that would add one more
	// is refused, while one that replaces a stored point is not. 0: no
	// bound.
	MaxPoints int64
	// Retention, in seconds, keeps only the points whose timestamp is at
	// least the newest timestamp stored minus Retention: a put older than
	// that is refused, and DropExpired removes the points that fell out of
	// the window. 0: keep everything.
	Retention int64
}

// NewMemoryWith returns an empty in-memory engine that enforces l.
func NewMemoryWith(l Limits) *Memory {
	m := NewMemory()
	m.limits = l
	return m
}

// checkSeries refuses a new series past MaxSeries. m.orderMu must be held.
func (m *Memory) checkSeries() error {
	if n := m.limits.MaxSeries; n > 0 && len(m.order)-int(m.unlinked.Load()) >= n {
		return fmt.Errorf("%w: series limit of %d reached", ErrLimit, n)
	}
	return nil
}

// reservePoint takes a place for one more point under MaxPoints and
// reports whether it got one; the caller gives it back with releasePoint
// if the put adds no point after all. Without MaxPoints it always
// succeeds and counts nothing.
func (m *Memory) reservePoint() bool {
	if m.limits.MaxPoints <= 0 {
		return true
	}
	if m.total.Add(1) > m.limits.MaxPoints {
		m.total.Add(-1)
		return false
	}
	return true
}

// releasePoint gives back a place reservePoint took.
func (m *Memory) releasePoint() {
	if m.limits.MaxPoints > 0 {
		m.total.Add(-1)
	}
}

// errPointLimit is the refusal of a put past MaxPoints.
func (m *Memory) errPointLimit() error {
	return fmt.Errorf("%w: point limit of %d reached", ErrLimit, m.limits.MaxPoints)
}

// cutoffNone is the cutoff that keeps every point.
const cutoffNone = math.MinInt64

// cutoff is the oldest timestamp the retention window keeps, or cutoffNone
// when nothing is dropped.
func (m *Memory) cutoff() int64 {
	newest := m.newest.Load()
	if m.limits.Retention <= 0 || newest < math.MinInt64+m.limits.Retention {
		return cutoffNone
	}
	return newest - m.limits.Retention
}

// checkRetention refuses a point older than the retention window. It wraps
// ErrLimit, so that a write-ahead log replaying such a put skips it just as
// the put was refused the first time.
func (m *Memory) checkRetention(ts int64) error {
	if c := m.cutoff(); ts < c {
		return fmt.Errorf("%w: timestamp %d is older than the retention window (oldest kept: %d)", ErrLimit, ts, c)
	}
	return nil
}

// noteTimestamp raises the newest timestamp seen to ts.
func (m *Memory) noteTimestamp(ts int64) {
	for {
		cur := m.newest.Load()
		if ts <= cur || m.newest.CompareAndSwap(cur, ts) {
			return
		}
	}
}
