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

// Async is the optional interface of a store.Storage whose puts can be
// pipelined: a session submits consecutive puts without waiting and
// answers each once its Wait returns, so that one client's pipelined puts
// share fsyncs as concurrent clients' do.
//
// Contract:
//   - Submit(key, p) logs the put and returns at once; key is only read
//     during the call. An error from Submit means nothing was stored and
//     there is nothing to wait for.
//   - Wait(t) returns when t's put is durable as the fsync mode promises
//     and visible to every Get and All that starts afterwards. A nil error
//     means the put is stored; an error means it was not (answer it with
//     the error's text). Wait may be called any number of times, from any
//     goroutine, and tickets may be waited in any order; tickets of one
//     goroutine's submits complete in submission order.
//   - Puts are applied in submission order: for the same key and
//     timestamp, the last submitted value wins, even within one batch.
//   - Put(key, p) is Submit followed by Wait.
type Async interface {
	store.Storage
	Submit(key []byte, p store.Point) (Ticket, error)
	Wait(t Ticket) error
}

// Ticket identifies a submitted put until its Wait returns. The zero
// Ticket is already complete.
type Ticket struct {
	b *batch
	i int // index of the put in b.ops
}

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

	mu       sync.Mutex
	room     *sync.Cond // signalled when the pending batch is taken
	state    state
	failErr  error // the first write or fsync failure; sticky
	startErr error
	ids      map[string]seriesRef // the series of each key
	keys     map[uint64][]byte    // key of each series id, for replay
	nextID   uint64
	cur      *batch // puts waiting for the writer, in log order

	replayed atomic.Int64 // points recovered so far, for Ready
	walBytes atomic.Int64 // log bytes since the last snapshot
	snapMu   sync.Mutex   // one snapshot at a time
	spare    *wal.Batch   // writer-only: a drained batch's buffer
	spareOps []op         // writer-only
	wake     chan struct{}
	kicked   atomic.Bool  // a wake-up is due
	written  atomic.Int64 // log bytes written, for the syncer
	handoffs chan segmentFile
	// inlineHandOff is set once the syncer has stopped.
	inlineHandOff atomic.Bool
	snapNow       chan struct{}
	cutc          chan chan cutResult
	stop          chan struct{}
	writerDone    chan struct{}
	syncerDone    chan struct{}
	snapperDone   chan struct{}
}

// batch is the puts that one log write commits. Under FsyncAlways each
// has a waiter and is applied to memory after the write; otherwise puts
// are applied when submitted and nobody waits.
type batch struct {
	recs *wal.Batch
	ops  []op
	done chan struct{} // closed once err and errs are final
	err  error         // the batch's commit failed
	errs map[int]error // puts that memory refused (a store limit)
}

// seriesRef is what the engine knows of a series: its id and its key,
// an immutable copy that deferred puts apply with.
type seriesRef struct {
	id  uint64
	key []byte
}

// op is one put of a batch, applied after the commit.
type op struct {
	key []byte // the engine's immutable copy
	p   store.Point
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
		mem:         store.NewMemory(),
		m:           m,
		maxKey:      int(cfg.SegmentSize) - wal.SeriesRecordSize(0),
		ids:         make(map[string]seriesRef),
		keys:        make(map[uint64][]byte),
		nextID:      1,
		wake:        make(chan struct{}, 1),
		snapNow:     make(chan struct{}, 1),
		cutc:        make(chan chan cutResult),
		stop:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		syncerDone:  make(chan struct{}),
		snapperDone: make(chan struct{}),
		handoffs:    make(chan segmentFile, 64),
	}
	e.room = sync.NewCond(&e.mu)
	e.cur = e.newBatch()
	return e, nil
}

// newBatch returns an empty batch, reusing a drained batch's buffers.
func (e *Engine) newBatch() *batch {
	b := &batch{recs: e.spare, ops: e.spareOps[:0]}
	e.spare, e.spareOps = nil, nil
	if b.recs == nil {
		b.recs = wal.NewBatch(64<<10, wal.MaxPointsBody(e.cfg.SegmentSize))
	}
	if e.cfg.Fsync == FsyncAlways {
		b.done = make(chan struct{})
	}
	return b
}

// Put implements store.Storage: Submit, then Wait.
func (e *Engine) Put(key []byte, p store.Point) error {
	t, err := e.Submit(key, p)
	if err != nil {
		return err
	}
	return e.Wait(t)
}

// Get implements store.Storage.
func (e *Engine) Get(key []byte, fn store.VisitFunc) error { return e.mem.Get(key, fn) }

// All implements store.Storage.
func (e *Engine) All(fn store.VisitFunc) error { return e.mem.All(fn) }

// Submit implements Async. The put is appended to the pending batch under
// e.mu, and (unless the mode is FsyncAlways) applied to memory in the same
// critical section, so that the log's order is the order of application.
func (e *Engine) Submit(key []byte, p store.Point) (Ticket, error) {
	if len(key) > e.maxKey {
		return Ticket{}, fmt.Errorf("%w: a key of %d bytes does not fit a log segment", store.ErrLimit, len(key))
	}
	e.mu.Lock()
	if err := e.waitRoom(); err != nil {
		e.mu.Unlock()
		return Ticket{}, err
	}
	b := e.cur
	var t Ticket
	if e.cfg.Fsync == FsyncAlways {
		k, id := e.series(key)
		b.recs.AddPoint(id, p.Timestamp, p.Value)
		b.ops = append(b.ops, op{key: k, p: p})
		t = Ticket{b: b, i: len(b.ops) - 1}
	} else if err := e.putNow(key, p); err != nil {
		e.mu.Unlock()
		return Ticket{}, err
	}
	e.mu.Unlock()
	e.kick()
	return t, nil
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

// putNow applies a put to memory and logs it. Memory goes first so that a
// put it refuses is not logged. e.mu must be held.
func (e *Engine) putNow(key []byte, p store.Point) error {
	if err := e.mem.Put(key, p); err != nil {
		return err
	}
	_, id := e.series(key)
	e.cur.recs.AddPoint(id, p.Timestamp, p.Value)
	return nil
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

// series returns the engine's copy of key and its series id, assigning
// the next id and logging a series record the first time. e.mu must be
// held.
func (e *Engine) series(key []byte) ([]byte, uint64) {
	if ref, ok := e.ids[string(key)]; ok {
		return ref.key, ref.id
	}
	k := append(make([]byte, 0, len(key)), key...)
	id := e.nextID
	e.register(id, k)
	e.cur.recs.AddSeries(id, k)
	return k, id
}

// register records that series id is named k. e.mu must be held, or the
// engine not yet started.
func (e *Engine) register(id uint64, k []byte) {
	e.ids[string(k)] = seriesRef{id: id, key: k}
	e.keys[id] = k
	e.nextID = max(e.nextID, id+1)
}

// Wait implements Async.
func (e *Engine) Wait(t Ticket) error {
	if t.b == nil {
		return nil
	}
	<-t.b.done
	if t.b.err != nil {
		return t.b.err
	}
	return t.b.errs[t.i]
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
	e.mu.Lock()
	first := e.failErr == nil
	if first {
		e.failErr = fmt.Errorf("%w: %w", ErrFailed, err)
		e.room.Broadcast()
	}
	e.mu.Unlock()
	if first {
		e.m.failed.Set(1)
		e.log.Error("durable: the write-ahead log failed; refusing puts until restart", "err", err)
	}
}
