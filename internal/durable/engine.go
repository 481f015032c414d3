package durable

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// Errors of the engine's states. Ready and Put wrap them.
var (
	// ErrNotReady: Start has not finished recovery.
	ErrNotReady = errors.New("durable: not ready")
	// ErrClosed: Close has been called.
	ErrClosed = errors.New("durable: closed")
	// ErrFailed: a write or fsync of the log failed; the engine refuses
	// puts until it is restarted, because it can no longer say what is on
	// disk. Gets still answer from memory.
	ErrFailed = errors.New("storage failed")
)

// state is an Engine's life-cycle stage.
type state uint8

const (
	stateNew state = iota
	stateReplaying
	stateReady
	stateClosing
	stateClosed
	stateBroken // Start failed
)

// Engine is a store.Storage that keeps the points in a store.Memory and
// makes every put durable through a write-ahead log and snapshots in
// Config.Dir. Create it with New, recover with Start, stop with Close.
type Engine struct {
	cfg Config
	log *slog.Logger
	mem *store.Memory
	m   *metrics
	wal *wal.Log
	// maxKey is the longest key whose series record fits a segment.
	maxKey int
	lock   *os.File

	mu      sync.Mutex // guards what follows, and the log order of puts
	room    *sync.Cond // signalled when the pending batch is taken
	state   state
	failErr error // the first write or fsync failure since the last recovery
	// retryable says that failErr left the log as it was (a write that
	// was rolled back, as on a full disk): the writer retries with backoff
	// and takes puts again once the log takes a write. Otherwise the
	// failure is sticky until restart.
	retryable bool
	startErr  error
	cur       *batch // records waiting for the writer, in log order
	// unlogged holds the series whose series record was in a batch that
	// was never written (a failed write): the next point of such a series
	// logs its record again first, so that the log never holds a point of
	// a series it has not named.
	unlogged map[uint64]store.Ref

	// refuse is why puts are refused (not ready, failed, closed), or nil:
	// what waitRoom decides under e.mu, readable without it. pending is
	// the size of e.cur's records, likewise.
	refuse  atomic.Pointer[error]
	pending atomic.Int64

	replayed    atomic.Int64 // points recovered so far, for Ready
	walBytes    atomic.Int64 // log bytes since the last snapshot
	snapMu      sync.Mutex   // one snapshot at a time
	spare       *wal.Batch   // writer-only: a drained batch's buffer
	spareOps    []op         // writer-only
	wake        chan struct{}
	kicked      atomic.Bool // a wake-up is due
	snapNow     chan struct{}
	cutc        chan chan cutResult
	stop        chan struct{}
	writerDone  chan struct{}
	snapperDone chan struct{}
}

// batch is the records that one log write commits: the series records of
// the series memory created meanwhile and the puts, each with a waiter,
// applied to memory after the write in log order.
type batch struct {
	recs    *wal.Batch
	ops     []op
	created []store.Ref // series whose record is in recs
	commit  *store.Commit
}

// op is one put of a batch, applied after the commit, or with del set a
// delete of the key's series (see delete.go).
type op struct {
	ref store.Ref
	p   store.Point
	del bool
}

// New checks cfg and returns an engine that has not read its directory
// yet; Start recovers it.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:         cfg,
		log:         cfg.Logger,
		m:           m,
		maxKey:      int(cfg.SegmentSize) - wal.SeriesRecordSize(0),
		unlogged:    make(map[uint64]store.Ref),
		wake:        make(chan struct{}, 1),
		snapNow:     make(chan struct{}, 1),
		cutc:        make(chan chan cutResult),
		stop:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		snapperDone: make(chan struct{}),
	}
	e.mem = store.New(store.Config{Limits: cfg.Limits, Created: e.logSeries, Logger: cfg.Logger})
	e.room = sync.NewCond(&e.mu)
	e.cur = e.newBatch()
	e.setRefuse(ErrNotReady)
	return e, nil
}

// setRefuse publishes why puts are refused; nil lets them in.
func (e *Engine) setRefuse(err error) {
	if err == nil {
		e.refuse.Store(nil)
		return
	}
	e.refuse.Store(&err)
}

// newBatch returns an empty batch, reusing a drained batch's buffers.
func (e *Engine) newBatch() *batch {
	b := &batch{recs: e.spare, ops: e.spareOps[:0]}
	e.spare, e.spareOps = nil, nil
	if b.recs == nil {
		b.recs = wal.NewBatch(64<<10, wal.MaxPointsBody(e.cfg.SegmentSize))
	}
	b.commit = store.NewCommit()
	return b
}

// Put implements store.Storage: Submit, then Wait.
func (e *Engine) Put(key []byte, p store.Point) error {
	t, err := e.Submit(key, p)
	if err != nil {
		return err
	}
	return t.Wait()
}

// Get implements store.Storage.
func (e *Engine) Get(key []byte, fn store.VisitFunc) error { return e.mem.Get(key, fn) }

// All implements store.Storage.
func (e *Engine) All(fn store.VisitFunc) error { return e.mem.All(fn) }

// Keys visits every key in first-insertion order (see store.Memory.Keys).
func (e *Engine) Keys(fn func(key []byte) error) error { return e.mem.Keys(fn) }

// Stats returns the number of series and points stored.
func (e *Engine) Stats() (series, points int) { return e.mem.Stats() }

// Submit implements store.Engine. Memory hands out the put's series (creating it,
// and through logSeries its series record, if the key is new) after
// checking the limits, so a refused put logs nothing; then the point is
// logged by the series' ID. The writer applies it to memory once the batch
// is written (and under FsyncAlways fsynced), in log order, so that memory
// and the log see the puts of a key in one order, and nothing is visible
// or acknowledged before the operating system has it.
func (e *Engine) Submit(key []byte, p store.Point) (store.Ticket, error) {
	if len(key) > e.maxKey {
		return store.Ticket{}, fmt.Errorf("%w: a key of %d bytes does not fit a log segment", store.ErrLimit, len(key))
	}
	if err := e.admit(); err != nil {
		return store.Ticket{}, err
	}
	var ref store.Ref
	for {
		var err error
		if ref, err = e.mem.Ref(key, p.Timestamp); err != nil {
			return store.Ticket{}, err
		}
		e.mu.Lock()
		if err := e.waitRoom(); err != nil {
			e.mu.Unlock()
			return store.Ticket{}, err
		}
		// A delete drops series under e.mu: a ref still live here is
		// logged before any tombstone of it. One deleted since Ref is
		// asked for again (not under e.mu: creating a series logs its
		// record, which takes e.mu).
		if !ref.Gone() {
			break
		}
		e.mu.Unlock()
	}
	b := e.cur
	if len(e.unlogged) > 0 {
		e.relog(ref)
	}
	b.recs.AddPoint(ref.ID(), p.Timestamp, p.Value)
	b.ops = append(b.ops, op{ref: ref, p: p})
	t := b.commit.Ticket(len(b.ops) - 1)
	e.pending.Store(int64(b.recs.Len()))
	e.mu.Unlock()
	e.kick()
	return t, nil
}

// logSeries is memory's report of a series it created: its record goes
// into the pending batch, ahead of every point of it, since memory reports
// a series before anyone can put into it. It runs under memory's creation
// lock, so records are logged in ID order.
func (e *Engine) logSeries(ref store.Ref) {
	e.mu.Lock()
	e.cur.recs.AddSeries(ref.ID(), ref.Key())
	e.cur.created = append(e.cur.created, ref)
	e.pending.Store(int64(e.cur.recs.Len()))
	e.mu.Unlock()
}

// relog logs ref's series record again if the batch that held it was never
// written. e.mu must be held.
func (e *Engine) relog(ref store.Ref) {
	if _, ok := e.unlogged[ref.ID()]; !ok {
		return
	}
	delete(e.unlogged, ref.ID())
	e.cur.recs.AddSeries(ref.ID(), ref.Key())
	e.cur.created = append(e.cur.created, ref)
}

// admit returns why puts are refused, or nil, without e.mu unless the
// pending batch is full, when it waits for room like waitRoom.
func (e *Engine) admit() error {
	if err := e.refuse.Load(); err != nil {
		return *err
	}
	if e.pending.Load() < int64(e.cfg.MaxPendingBytes) {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waitRoom()
}

// kick makes sure the writer will look at the pending batch. The flag
// spares a channel operation per put while a wake-up is already due; the
// writer clears it before it takes the batch, so a put appended after
// that sends a new wake-up.
func (e *Engine) kick() {
	if e.kicked.Load() || !e.kicked.CompareAndSwap(false, true) {
		return
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// waitRoom returns the reason puts are refused, or waits until the
// pending batch has room. e.mu must be held.
func (e *Engine) waitRoom() error {
	for {
		switch {
		case e.state == stateNew || e.state == stateReplaying:
			return ErrNotReady
		case e.state != stateReady:
			return ErrClosed
		case e.failErr != nil:
			return e.failErr
		case e.cur.recs.Len() < e.cfg.MaxPendingBytes:
			return nil
		}
		e.room.Wait()
	}
}

// Ready reports whether the engine serves puts: nil when it does, an
// error wrapping ErrNotReady (with the points recovered so far) during
// recovery, the failure (wrapping ErrFailed) after a failed write or
// fsync, ErrClosed after Close, or Start's error if recovery failed. It is
// meant for a readiness endpoint.
func (e *Engine) Ready() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateNew:
		return ErrNotReady
	case stateReplaying:
		return fmt.Errorf("%w: recovering, %d points loaded", ErrNotReady, e.replayed.Load())
	case stateBroken:
		return e.startErr
	case stateClosing, stateClosed:
		return ErrClosed
	}
	return e.failErr
}

// fail makes the engine refuse puts from now on, because of err.
func (e *Engine) fail(err error) {
	retry := errors.Is(err, wal.ErrNotWritten)
	e.mu.Lock()
	first := e.failErr == nil
	if first {
		e.failErr = fmt.Errorf("%w: %w", ErrFailed, err)
		e.retryable = retry
		e.setRefuse(e.failErr)
		e.room.Broadcast()
	} else if !retry {
		e.retryable = false // a later failure that only a restart can undo
	}
	e.mu.Unlock()
	if !first {
		return
	}
	e.m.failed.Set(1)
	if retry {
		e.log.Error("durable: a write of the log failed and was rolled back; refusing puts while the writer retries", "err", err)
	} else {
		e.log.Error("durable: the write-ahead log failed; refusing puts until restart", "err", err)
	}
}

// recovered ends a retryable failure: puts are taken again.
func (e *Engine) recovered() {
	e.mu.Lock()
	err := e.failErr
	e.failErr, e.retryable = nil, false
	if e.state == stateReady {
		e.setRefuse(nil)
	}
	e.mu.Unlock()
	e.m.failed.Set(0)
	e.log.Info("durable: the write-ahead log takes writes again; puts are accepted", "after", err)
}

var _ store.Engine = (*Engine)(nil)
