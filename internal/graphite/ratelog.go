package graphite

import (
	"sync/atomic"
	"time"
)

// rateLimit lets one event through per interval and counts the ones it
// held back, so that an agent sending a flood of bad lines costs one log
// line per interval instead of one per line. It is lock-free: an event held
// back costs one atomic load and one atomic add, and the caller builds its
// log arguments only for an event let through.
type rateLimit struct {
	every      time.Duration
	now        func() time.Time
	next       atomic.Int64 // Unix nanoseconds before which events are held back
	suppressed atomic.Int64 // events held back since the last one let through
}

func newRateLimit(every time.Duration, now func() time.Time) *rateLimit {
	return &rateLimit{every: every, now: now}
}

// allow reports whether an event may be logged now and, if so, how many
// were held back since the previous one.
func (r *rateLimit) allow() (suppressed int64, ok bool) {
	t := r.now().UnixNano()
	next := r.next.Load()
	if t < next || !r.next.CompareAndSwap(next, t+int64(r.every)) {
		r.suppressed.Add(1)
		return 0, false
	}
	return r.suppressed.Swap(0), true
}
