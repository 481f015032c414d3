package durable

import (
	"errors"
	"fmt"
	"hash/maphash"
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

	// stripes hold the series of each key, sharded by key hash; a put
	// holds its key's stripe lock from lookup to log, so that the puts of
	// one key reach memory and the log in the same order.
	seed    maphash.Seed
	stripes [stripeCount]stripe

	mu       sync.Mutex // guards what follows, and the log order of puts
	room     *sync.Cond // signalled when the pending batch is taken
	state    state
	failErr  error // the first write or fsync failure; sticky
	startErr error
	keys     map[uint64][]byte // key of each series id, for replay
	nextID   uint64
	cur      *batch // puts waiting for the writer, in log order

	// refuse is why puts are refused (not ready, failed, closed), or nil:
	// what waitRoom decides under e.mu, readable without it. pending is
	// the size of e.cur's records, likewise.
	refuse  atomic.Pointer[error]
	pending atomic.Int64

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

// stripeCount spreads keys over independently locked stripes; a power of
// two so that a mask picks the stripe.
const stripeCount = 256

// stripe is one shard of the key → series map, padded so that
// neighbouring locks sit on different cache lines.
type stripe struct {
	mu  sync.Mutex
	ids map[string]seriesRef
	_   [48]byte
}

// drain waits until no put holds the stripe: the puts that were admitted
// before the engine stopped admitting have then logged their records.
func (st *stripe) drain() {
	st.mu.Lock()
	//lint:ignore SA2001 waiting for the lock is the point: a barrier
	st.mu.Unlock()
}

// seriesRef is what the engine knows of a series: its id and its key,
// an immutable copy that deferred puts apply with.
type seriesRef struct {
	id  uint64
	key []byte
}

// op is one put of a batch, applied after the commit, or with del set a
// delete of the key's series (see delete.go).
type op struct {
	key []byte // the engine's immutable copy
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
		mem:         store.NewMemoryWith(cfg.Limits),
		m:           m,
		maxKey:      int(cfg.SegmentSize) - wal.SeriesRecordSize(0),
		seed:        maphash.MakeSeed(),
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
	for i := range e.stripes {
		e.stripes[i].ids = make(map[string]seriesRef)
	}
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

// stripeOf returns the stripe of key.
func (e *Engine) stripeOf(key []byte) *stripe {
	return &e.stripes[maphash.Bytes(e.seed, key)&(stripeCount-1)]
}

// lookup returns the series of key, if it has one.
func (e *Engine) lookup(key []byte) (seriesRef, bool) {
	st := e.stripeOf(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	ref, ok := st.ids[string(key)]
	return ref, ok
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

// Keys visits every key in first-insertion order (see store.Memory.Keys).
func (e *Engine) Keys(fn func(key []byte) error) error { return e.mem.Keys(fn) }

// Stats returns the number of series and points stored.
func (e *Engine) Stats() (series, points int) { return e.mem.Stats() }

// DropExpired removes the points that fell out of the retention window
// (see store.Memory.DropExpired). It logs nothing: the drop follows from
// the points stored, so replay and a DropExpired after it reach the same
// state.
func (e *Engine) DropExpired() (int, error) { return e.mem.DropExpired() }

// Submit implements Async. Puts of one key are serialised by the key's
// stripe lock, so that they reach memory and the log in the same order;
// puts of different keys go on in parallel and only meet in e.mu to
// append their records.
func (e *Engine) Submit(key []byte, p store.Point) (Ticket, error) {
	if len(key) > e.maxKey {
		return Ticket{}, fmt.Errorf("%w: a key of %d bytes does not fit a log segment", store.ErrLimit, len(key))
	}
	st := e.stripeOf(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	ref, known := st.ids[string(key)]
	switch {
	case e.cfg.Fsync == FsyncAlways:
		return e.submitDeferred(st, ref, known, key, p)
	case known:
		return Ticket{}, e.putNow(ref, key, p)
	default:
		return Ticket{}, e.putNewSeries(st, key, p)
	}
}

// submitDeferred logs a put for the writer to apply once it is durable
// (FsyncAlways). st.mu must be held.
func (e *Engine) submitDeferred(st *stripe, ref seriesRef, known bool, key []byte, p store.Point) (Ticket, error) {
	e.mu.Lock()
	if err := e.waitRoom(); err != nil {
		e.mu.Unlock()
		return Ticket{}, err
	}
	if !known {
		ref = e.newSeries(st, key)
	}
	b := e.cur
	b.recs.AddPoint(ref.id, p.Timestamp, p.Value)
	b.ops = append(b.ops, op{key: ref.key, p: p})
	t := Ticket{b: b, i: len(b.ops) - 1}
	e.pending.Store(int64(b.recs.Len()))
	e.mu.Unlock()
	e.kick()
	return t, nil
}

// putNow applies a put of an existing series to memory, then logs it
// (FsyncInterval, FsyncNever). Memory goes first, so that a put it refuses
// is not logged, and so that every put logged before a snapshot's cut is in
// memory when the snapshot is taken. The key's stripe lock must be held.
func (e *Engine) putNow(ref seriesRef, key []byte, p store.Point) error {
	if err := e.admit(); err != nil {
		return err
	}
	if err := e.mem.Put(key, p); err != nil {
		return err
	}
	e.mu.Lock()
	e.cur.recs.AddPoint(ref.id, p.Timestamp, p.Value)
	e.pending.Store(int64(e.cur.recs.Len()))
	e.mu.Unlock()
	e.kick()
	return nil
}

// putNewSeries is putNow for a key without a series: memory creates the
// series and its record is logged in one critical section of e.mu, so
// that series are created in memory in the order of their records, which
// is the first-insertion order a replay rebuilds. st.mu must be held.
func (e *Engine) putNewSeries(st *stripe, key []byte, p store.Point) error {
	e.mu.Lock()
	if err := e.waitRoom(); err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.mem.Put(key, p); err != nil {
		e.mu.Unlock()
		return err
	}
	ref := e.newSeries(st, key)
	e.cur.recs.AddPoint(ref.id, p.Timestamp, p.Value)
	e.pending.Store(int64(e.cur.recs.Len()))
	e.mu.Unlock()
	e.kick()
	return nil
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

// newSeries gives key, which has no series yet, the next series id and
// logs its series record. st (key's stripe) and e.mu must be held.
func (e *Engine) newSeries(st *stripe, key []byte) seriesRef {
	ref := seriesRef{id: e.nextID, key: append(make([]byte, 0, len(key)), key...)}
	e.registerIn(st, ref)
	e.cur.recs.AddSeries(ref.id, ref.key)
	return ref
}

// register records that series id is named k, during recovery (before
// any put can run).
func (e *Engine) register(id uint64, k []byte) {
	e.registerIn(e.stripeOf(k), seriesRef{id: id, key: k})
}

// registerIn records ref in st, its key's stripe, and in e.keys.
func (e *Engine) registerIn(st *stripe, ref seriesRef) {
	st.ids[string(ref.key)] = ref
	e.keys[ref.id] = ref.key
	e.nextID = max(e.nextID, ref.id+1)
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
		e.setRefuse(e.failErr)
		e.room.Broadcast()
	}
	e.mu.Unlock()
	if first {
		e.m.failed.Set(1)
		e.log.Error("durable: the write-ahead log failed; refusing puts until restart", "err", err)
	}
}
