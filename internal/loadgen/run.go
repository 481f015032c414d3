package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// runner is the state the workers of one run share.
type runner struct {
	cfg      Config
	targets  []string // cfg.Targets(), split once
	gen      *Generator
	next     atomic.Uint64 // the next request's sequence number
	deadline time.Time     // zero when only Requests bounds the run
	workers  []*worker
}

// claim reserves up to size requests and returns the first's sequence
// number and how many were reserved: 0 once the run's count or time is up
// or ctx has ended.
func (r *runner) claim(ctx context.Context, size int) (start uint64, n int) {
	if !r.going(ctx) {
		return 0, 0
	}
	start = r.next.Add(uint64(size)) - uint64(size)
	if r.cfg.Requests == 0 {
		return start, size
	}
	total := uint64(r.cfg.Requests)
	if start >= total {
		return 0, 0
	}
	return start, int(min(uint64(size), total-start))
}

// going reports whether the run may send more: ctx is live and the
// duration has not passed.
func (r *runner) going(ctx context.Context) bool {
	return ctx.Err() == nil && (r.deadline.IsZero() || time.Now().Before(r.deadline))
}

// Run drives cfg's load and reports it. The error is for a run that could
// not happen (invalid config, a refused address, no connection at all, a
// verification that could not count); failures during the run are counted
// in the Result's errors instead. Cancelling ctx stops the run early, with
// the requests in flight counted as lost.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := checkTargets(ctx, cfg); err != nil {
		return Result{}, err
	}
	cfg = ResolveStart(cfg, time.Now())
	r := &runner{cfg: cfg, targets: cfg.Targets(), gen: NewGenerator(cfg)}
	var baseline int64
	if cfg.Workload == WorkloadGraphite {
		n, err := cfg.Verify.Count(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("loadgen: count before the run: %w", err)
		}
		baseline = n
	}
	begin := time.Now()
	if cfg.Duration > 0 {
		r.deadline = begin.Add(cfg.Duration)
	}
	r.runWorkers(ctx, begin)
	elapsed := time.Since(begin)
	res := r.result(elapsed)
	if res.OK == 0 && res.Errors.Lost > 0 {
		return res, fmt.Errorf("loadgen: no request got through: %s", res.Errors.First)
	}
	if cfg.Workload == WorkloadGraphite {
		if err := r.confirm(ctx, &res, begin, baseline); err != nil {
			return res, err
		}
	}
	return res, nil
}

// checkTargets refuses non-loopback targets unless AllowRemote.
func checkTargets(ctx context.Context, cfg Config) error {
	if cfg.AllowRemote {
		return nil
	}
	targets := cfg.Targets()
	if t, ok := cfg.Verify.(interface{ Target() string }); ok {
		targets = append(targets, t.Target())
	}
	for _, addr := range targets {
		if err := CheckLoopback(ctx, addr); err != nil {
			return err
		}
	}
	return nil
}

// runWorkers runs one worker per connection, with the progress reporter
// beside them, and returns when all are done.
func (r *runner) runWorkers(ctx context.Context, begin time.Time) {
	var wg sync.WaitGroup
	for id := range r.cfg.Connections {
		w := newWorker(r, id)
		r.workers = append(r.workers, w)
		wg.Go(func() { w.loop(ctx) })
	}
	stop := make(chan struct{})
	var pg sync.WaitGroup
	if r.cfg.Progress != nil && r.cfg.ProgressInterval > 0 {
		pg.Go(func() { r.report(begin, stop) })
	}
	wg.Wait()
	close(stop)
	pg.Wait()
	if r.cfg.Progress != nil {
		s := r.snapshot(begin)
		s.Final = true
		r.cfg.Progress(s)
	}
}

// report calls Progress every ProgressInterval until stop closes.
func (r *runner) report(begin time.Time, stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.cfg.Progress(r.snapshot(begin))
		}
	}
}

// Snapshot is the progress of a run so far.
type Snapshot struct {
	Elapsed time.Duration
	Done    int64 // requests answered or lost (Graphite: lines written)
	Errors  int64
	Final   bool // the run is over; this is the last snapshot
}

func (r *runner) snapshot(begin time.Time) Snapshot {
	s := Snapshot{Elapsed: time.Since(begin)}
	for _, w := range r.workers {
		s.Done += w.c.done.Load()
		s.Errors += w.c.errReply.Load() + w.c.bad.Load() + w.c.lost.Load()
	}
	return s
}

// result merges the workers' tallies and histograms.
func (r *runner) result(elapsed time.Duration) Result {
	cfg := r.cfg
	res := Result{
		Workload: cfg.Workload, Addr: cfg.Addr, Connections: cfg.Connections,
		Pipeline: cfg.Pipeline, Keys: cfg.Keys, Order: cfg.Order, Values: cfg.Values,
		Spread: cfg.Spread, Seed: cfg.Seed, Start: cfg.Start, ElapsedSeconds: elapsed.Seconds(),
	}
	hist := hdrhistogram.New(1, latencyMax, latencySigFigs)
	var maxLat time.Duration
	var errs []error
	for _, w := range r.workers {
		res.Requests += w.c.done.Load()
		res.OK += w.c.ok.Load()
		res.Errors.ErrorReplies += w.c.errReply.Load()
		res.Errors.BadReplies += w.c.bad.Load()
		res.Errors.Lost += w.c.lost.Load()
		res.PointsRead += w.c.points.Load()
		res.BytesRead += w.c.bytesRead.Load()
		hist.Merge(w.hist)
		maxLat = max(maxLat, w.max)
		if w.err != nil {
			errs = append(errs, w.err)
		}
	}
	res.Errors.Total = res.Errors.ErrorReplies + res.Errors.BadReplies + res.Errors.Lost
	if len(errs) > 0 {
		res.Errors.First = errs[0].Error()
	}
	if elapsed > 0 {
		res.OpsPerSecond = float64(res.OK) / elapsed.Seconds()
	}
	if cfg.Workload != WorkloadGraphite && hist.TotalCount() > 0 {
		res.Latency = summarize(hist, maxLat)
	}
	return res
}

// summarize reads the percentiles, in microseconds. The histogram reports
// the top of a value's 0.1% bucket, so a percentile is capped at the exact
// maximum.
func summarize(h *hdrhistogram.Histogram, maxLat time.Duration) *Latency {
	us := func(ns int64) float64 { return float64(min(ns, int64(maxLat))) / 1e3 }
	return &Latency{
		P50:     us(h.ValueAtQuantile(50)),
		P90:     us(h.ValueAtQuantile(90)),
		P99:     us(h.ValueAtQuantile(99)),
		P999:    us(h.ValueAtQuantile(99.9)),
		Max:     us(int64(maxLat)),
		Mean:    h.Mean() / 1e3,
		Samples: h.TotalCount(),
	}
}

// confirmPoll is how often a graphite run re-counts what the server stored.
const confirmPoll = 50 * time.Millisecond

// errShort is wrapped when the server stored fewer points than were sent
// before the verify timeout.
var errShort = errors.New("stored fewer points than were sent")

// confirm waits until the server has stored every line sent, and sets the
// run's rate to what was stored per second from the start of the run to
// the moment the count was confirmed. Points still missing at the timeout
// are errors.
func (r *runner) confirm(ctx context.Context, res *Result, begin time.Time, baseline int64) error {
	sent := res.OK
	want := baseline + sent
	ctx, cancel := context.WithTimeout(ctx, r.cfg.VerifyTimeout)
	defer cancel()
	var stored int64
	for {
		n, err := r.cfg.Verify.Count(ctx)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("loadgen: count after the run: %w", err)
		}
		if err == nil {
			stored = n - baseline
		}
		if stored >= sent || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(confirmPoll):
		}
	}
	took := time.Since(begin)
	res.Graphite = &GraphiteResult{Sent: sent, Stored: stored, ConfirmSeconds: took.Seconds()}
	res.OpsPerSecond = float64(min(stored, sent)) / took.Seconds()
	if stored < sent {
		res.Errors.Missing = sent - stored
		res.Errors.Total += res.Errors.Missing
		return fmt.Errorf("loadgen: %w: %d of %d (count %d, want %d) after %v",
			errShort, stored, sent, baseline+stored, want, r.cfg.VerifyTimeout)
	}
	return nil
}
