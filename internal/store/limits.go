package store

import (
	"errors"
	"fmt"
	"math"
	"time"
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
	// least the wall clock (Now) minus Retention: a put older than that is
	// refused, and the retention pass (DropExpired, run by Start's loop)
	// removes the points that fell out of the window. It is measured
	// against the clock, never against a timestamp a client sent, so that
	// one far-future put cannot expire everything (issue #11.1). 0: keep
	// everything.
	Retention int64
	// MaxFuture, in seconds, refuses a put whose timestamp is more than
	// this ahead of the wall clock (a sender of milliseconds or
	// nanoseconds, or a broken clock). 0: no bound.
	MaxFuture int64
	// MaxKeyLength bounds the bytes of a new key; a put that would create
	// a longer one is refused. 0: no bound.
	MaxKeyLength int
	// Now is the wall clock of Retention and MaxFuture; nil means
	// time.Now. Tests inject a clock.
	Now func() time.Time
}

// ErrFuture is wrapped (with ErrLimit) by the refusal of a put further
// ahead of the clock than Limits.MaxFuture, so that the Graphite receiver
// can count it under a reason of its own.
var ErrFuture = errors.New("timestamp too far in the future")

// now returns the limits' clock, in seconds.
func (l *Limits) now() int64 {
	if l.Now != nil {
		return l.Now().Unix()
	}
	return time.Now().Unix()
}

// NewMemoryWith returns an empty in-memory engine that enforces l.
func NewMemoryWith(l Limits) *Memory {
	m := NewMemory()
	m.limits = l
	return m
}

// checkKey refuses a new key longer than MaxKeyLength.
func (m *Memory) checkKey(key []byte) error { return m.limits.checkKey(key) }

func (l *Limits) checkKey(key []byte) error {
	if n := l.MaxKeyLength; n > 0 && len(key) > n {
		return fmt.Errorf("%w: key of %d bytes is longer than the limit of %d", ErrLimit, len(key), n)
	}
	return nil
}

// CheckPut refuses a put that l refuses whatever a store holds: a key
// longer than MaxKeyLength, a timestamp outside the retention window or
// too far ahead of the clock. MaxSeries and MaxPoints depend on what is
// stored and are not checked. It is what a node that forwards a put
// elsewhere (a cluster node) checks before forwarding, so that it refuses
// what a single server refuses, with the same errors.
func (l *Limits) CheckPut(key []byte, ts int64) error {
	if err := l.checkKey(key); err != nil {
		return err
	}
	return l.checkTime(ts)
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

// cutoff is the oldest timestamp the retention window keeps now (the
// clock minus Retention), or cutoffNone when nothing is dropped.
func (m *Memory) cutoff() int64 {
	if m.limits.Retention <= 0 {
		return cutoffNone
	}
	now := m.limits.now()
	if now < math.MinInt64+m.limits.Retention {
		return cutoffNone
	}
	return now - m.limits.Retention
}

// checkTime refuses a point older than the retention window or further
// ahead of the clock than MaxFuture. Both wrap ErrLimit, so that a
// write-ahead log replaying such a put skips it.
func (m *Memory) checkTime(ts int64) error { return m.limits.checkTime(ts) }

func (l *Limits) checkTime(ts int64) error {
	if l.Retention <= 0 && l.MaxFuture <= 0 {
		return nil
	}
	now := l.now()
	if r := l.Retention; r > 0 && now >= math.MinInt64+r && ts < now-r {
		return fmt.Errorf("%w: timestamp %d is older than the retention window (oldest kept: %d)", ErrLimit, ts, now-r)
	}
	if f := l.MaxFuture; f > 0 && now <= math.MaxInt64-f && ts > now+f {
		return fmt.Errorf("%w: %w: timestamp %d is more than %d s ahead of the clock (%d)", ErrLimit, ErrFuture, ts, f, now)
	}
	return nil
}
