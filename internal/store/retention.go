package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"metricsd/internal/chunkenc"
)

// DropExpired removes the points older than the retention window (the
// clock minus Limits.Retention) and returns how many it removed. It does
// nothing without a Retention. The retention loop (Start) runs it; it locks
// one series at a time, and chunks wholly before the window are dropped
// without being decoded.
//
// Nothing of it is logged: the window is measured against the clock, so a
// replay refuses the same points (and any that expired since), which is
// what makes the drop durable.
func (m *Memory) DropExpired() (int, error) {
	cut := m.cutoff()
	if cut == cutoffNone {
		return 0, nil
	}
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	total := 0
	for _, s := range m.series() {
		s.mu.Lock()
		n, err := 0, m.settle(s, sc)
		if err == nil {
			n, err = s.dropBefore(cut, sc)
		}
		s.points -= n
		s.mu.Unlock()
		if n > 0 {
			if m.limits.MaxPoints > 0 {
				m.total.Add(-int64(n))
			}
			total += n
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// retainer is a Memory's retention loop.
type retainer struct {
	once    sync.Once
	stop    chan struct{}
	stopped chan struct{} // nil until Start runs the loop
}

// retentionPeriod is how often the window is enforced: a hundredth of it,
// between a second and a minute, so that a point outlives the window by
// about 1% at most.
func retentionPeriod(window time.Duration) time.Duration {
	return min(max(window/100, time.Second), time.Minute)
}

// Start implements Engine. Memory has nothing to recover; with a
// Retention it drops the expired points once and then runs the retention
// loop until Close. Start must be called at most once.
func (m *Memory) Start(context.Context) error {
	if m.limits.Retention <= 0 {
		return nil
	}
	m.dropExpired()
	m.retain.stop = make(chan struct{})
	m.retain.stopped = make(chan struct{})
	go func() {
		defer close(m.retain.stopped)
		tick := time.NewTicker(retentionPeriod(time.Duration(m.limits.Retention) * time.Second))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				m.dropExpired()
			case <-m.retain.stop:
				return
			}
		}
	}()
	return nil
}

// dropExpired is one pass of the retention loop.
func (m *Memory) dropExpired() {
	n, err := m.DropExpired()
	if err != nil {
		m.log.Error("retention pass failed", "err", err)
	} else if n > 0 {
		m.log.Debug("retention dropped points", "points", n)
	}
}

// Close implements Engine: it stops the retention loop and waits for it.
// Memory keeps answering and taking puts. Calling it again returns nil.
func (m *Memory) Close() error {
	m.retain.once.Do(func() {
		if m.retain.stopped != nil {
			close(m.retain.stop)
			<-m.retain.stopped
		}
	})
	return nil
}

// dropBefore removes the points of s before cut and returns how many.
// s.mu must be held.
func (s *series) dropBefore(cut int64, sc *scratch) (int, error) {
	dropped := 0
	// Sealed chunks that end before cut go whole.
	whole := 0
	for whole < len(s.sealed) && s.sealed[whole].maxT < cut {
		_, n, err := chunkenc.Header(s.sealed[whole].data)
		if err != nil {
			return dropped, fmt.Errorf("store: retention on %q: %w", s.key, err)
		}
		dropped += n
		whole++
	}
	if whole > 0 {
		s.sealed = slices.Delete(s.sealed, 0, whole)
	}
	if len(s.sealed) > 0 {
		n, err := s.trimFirstSealed(cut, sc)
		return dropped + n, err
	}
	n, err := s.trimHead(cut, sc)
	return dropped + n, err
}

// trimFirstSealed re-encodes the first sealed chunk without its points
// before cut (its last point is not before cut).
func (s *series) trimFirstSealed(cut int64, sc *scratch) (int, error) {
	pts, k, err := s.splitAt(s.sealed[0].data, cut, sc)
	if err != nil || k == 0 {
		return 0, err
	}
	c, err := s.encode(pts[k:], sc, nil)
	if err != nil {
		return 0, err
	}
	s.sealed[0] = c
	return k, nil
}

// trimHead rebuilds the head without its points before cut.
func (s *series) trimHead(cut int64, sc *scratch) (int, error) {
	if s.head.Len() == 0 {
		return 0, nil
	}
	pts, k, err := s.splitAt(s.head.Bytes(), cut, sc)
	if err != nil || k == 0 {
		return 0, err
	}
	s.head.Recycle()
	for _, p := range pts[k:] {
		if err := s.head.Append(p.Timestamp, p.Value); err != nil {
			return k, fmt.Errorf("store: retention on %q: %w", s.key, err)
		}
	}
	return k, nil
}

// splitAt decodes chunk into sc and returns its points with the index of
// the first one at or after cut.
func (s *series) splitAt(chunk []byte, cut int64, sc *scratch) ([]Point, int, error) {
	pts, err := chunkenc.Decode(sc.pts[:0], chunk)
	sc.pts = pts
	if err != nil {
		return nil, 0, fmt.Errorf("store: retention on %q: %w", s.key, err)
	}
	k := 0
	for k < len(pts) && pts[k].Timestamp < cut {
		k++
	}
	return pts, k, nil
}

// has reports whether s holds a point at t. s.mu must be held.
func (s *series) has(t int64, sc *scratch) (bool, error) {
	chunk := s.head.Bytes()
	if !s.inHead(t) {
		i, _ := slices.BinarySearchFunc(s.sealed, t, func(c sealedChunk, t int64) int {
			return cmp.Compare(c.maxT, t)
		})
		chunk = s.sealed[i].data
	} else if s.head.Len() == 0 {
		return false, nil
	}
	pts, err := chunkenc.Decode(sc.pts[:0], chunk)
	sc.pts = pts
	if err != nil {
		return false, fmt.Errorf("store: look up %q: %w", s.key, err)
	}
	_, found := slices.BinarySearchFunc(pts, t, func(p Point, t int64) int { return cmp.Compare(p.Timestamp, t) })
	return found, nil
}
