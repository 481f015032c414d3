package metricsd

import (
	"log/slog"
	"sync"
	"time"
)

// expirer is what the retention loop needs of the storage.
type expirer interface {
	DropExpired() (int, error)
}

// retainer drops the points that fell out of the retention window, once at
// start (a restart may have replayed points a drop had removed) and then
// every period, until stop.
type retainer struct {
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
}

// retentionPeriod is how often the window is enforced: a hundredth of it,
// between a second and a minute, so that a point outlives the window by
// about 1% at most.
func retentionPeriod(window time.Duration) time.Duration {
	return min(max(window/100, time.Second), time.Minute)
}

// startRetainer runs the retention loop for st, or returns nil when there
// is no window or st can't drop points.
func startRetainer(window time.Duration, st any, log *slog.Logger) *retainer {
	ex, ok := st.(expirer)
	if window <= 0 || !ok {
		return nil
	}
	r := &retainer{stopc: make(chan struct{}), done: make(chan struct{})}
	drop := func() {
		n, err := ex.DropExpired()
		if err != nil {
			log.Error("retention pass failed", "err", err)
		} else if n > 0 {
			log.Debug("retention dropped points", "points", n)
		}
	}
	drop()
	go func() {
		defer close(r.done)
		tick := time.NewTicker(retentionPeriod(window))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				drop()
			case <-r.stopc:
				return
			}
		}
	}()
	return r
}

// stop ends the loop and waits for it; nil-safe and idempotent.
func (r *retainer) stop() {
	if r == nil {
		return
	}
	r.once.Do(func() { close(r.stopc) })
	<-r.done
}
