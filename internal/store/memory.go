package store

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// scratchPerProc sizes the free list of scratch: enough for every
// processor to be sealing or visiting at once, with room for visits that
// wait on a slow client while holding theirs.
const scratchPerProc = 4

// shardCount spreads series over independently locked maps so that puts to
// different keys rarely contend; a power of two so a mask picks the shard.
const shardCount = 256

// Memory is the in-memory storage engine: series sharded by key hash, each
// series behind its own lock and held as compressed chunks (see series),
// and a list of series in creation order that gives `get *` its
// first-insertion order. Each series has an ID, 1, 2, 3... in creation
// order, by which a write-ahead log or a snapshot can refer to it.
type Memory struct {
	seed   maphash.Seed
	shards [shardCount]shard

	orderMu sync.RWMutex
	order   []*series // every series, in ID order (= creation order)
	lastID  uint64    // the ID of the newest series
	// unlinked counts deleted series still in order (see Unlink).
	unlinked atomic.Int64

	scratch scratchList

	limits Limits
	// created, if set, is told of every series Ref creates (see
	// Config.Created).
	created func(Ref)
	log     *slog.Logger
	retain  retainer     // the retention loop, between Start and Close
	total   atomic.Int64 // points stored, counted only under MaxPoints
}

// shard is one lock-striped slice of the key space. The padding keeps
// neighbouring shards' locks on different cache lines.
type shard struct {
	shardState
	_ [64 - unsafe.Sizeof(shardState{})%64]byte
}

type shardState struct {
	mu     sync.RWMutex
	series map[string]*series
}

// NewMemory returns an empty in-memory engine.
func NewMemory() *Memory {
	m := &Memory{
		log:     slog.New(slog.DiscardHandler),
		seed:    maphash.MakeSeed(),
		scratch: make(scratchList, scratchPerProc*runtime.GOMAXPROCS(0)),
	}
	for i := range m.shards {
		m.shards[i].series = make(map[string]*series)
	}
	return m
}

func (m *Memory) shardOf(key []byte) *shard {
	return &m.shards[maphash.Bytes(m.seed, key)&(shardCount-1)]
}

// lookup returns the series of key, or nil.
func (m *Memory) lookup(sh *shard, key []byte) *series {
	sh.mu.RLock()
	s := sh.series[string(key)]
	sh.mu.RUnlock()
	return s
}

// seriesFor returns the series of key, creating it (and copying key, the
// only copy a put makes) unless another put created it since the caller's
// lookup found nothing.
func (m *Memory) seriesFor(sh *shard, key []byte) (*series, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.series[string(key)]; s != nil {
		return s, nil
	}
	s := &series{key: append([]byte(nil), key...)}
	if err := m.create(sh, s, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// create registers s, a new series, under its key: it gives it an ID (the
// next one when id is 0, else id, which must be free), and puts it in the
// shard's map and in the ID-ordered list. It is the one place where series
// come into being, so the limit on their number is checked here, and a new
// series (id 0) is reported to m.created while the order lock is held, so
// that a log sees creations in ID order. The shard's lock must be held
// (shard, then order lock).
func (m *Memory) create(sh *shard, s *series, id uint64) error {
	m.orderMu.Lock()
	defer m.orderMu.Unlock()
	if id == 0 {
		if err := m.checkSeries(); err != nil {
			return err
		}
		s.id = m.lastID + 1
		m.lastID = s.id
		sh.series[string(s.key)] = s
		m.order = append(m.order, s)
		if m.created != nil {
			m.created(Ref{s})
		}
		return nil
	}
	// An explicit ID comes from a snapshot or a log: usually the next one,
	// but a series record logged again after a failed write may come after
	// younger series, so it is inserted in ID order.
	i, found := slices.BinarySearchFunc(m.order, id, func(o *series, id uint64) int { return cmp.Compare(o.id, id) })
	if found {
		return fmt.Errorf("store: series ID %d for %q is already %q's", id, s.key, m.order[i].key)
	}
	s.id = id
	m.lastID = max(m.lastID, id)
	sh.series[string(s.key)] = s
	m.order = slices.Insert(m.order, i, s)
	return nil
}

// Put implements Storage: Ref, then the put into the series. Putting after
// the newest point of an existing series appends to its head chunk and
// allocates nothing (beyond, once every 256 points, the sealed chunk);
// other puts decode and re-encode one chunk. A put refused by the Limits
// stores nothing, not even its key.
func (m *Memory) Put(key []byte, p Point) error {
	for {
		r, err := m.Ref(key, p.Timestamp)
		if err != nil {
			return err
		}
		if err := m.put(r.s, p); err != errUnlinked {
			return err
		}
		// Deleted between the lookup and the lock: the put comes after
		// the delete, so it goes into a new series.
	}
}

// put stores p in s, under MaxPoints only if there is room or p replaces a
// stored point. The time limits have been checked by the caller.
func (m *Memory) put(s *series, p Point) error {
	reserved := m.reservePoint()
	added, err := m.putInto(s, p, reserved)
	if reserved && added == 0 {
		m.releasePoint()
	}
	return err
}

// putInto stores p in s. Without a reserved place under MaxPoints only a
// put that replaces a stored point may go ahead.
func (m *Memory) putInto(s *series, p Point, reserved bool) (int, error) {
	sp := lazyScratch{list: m.scratch}
	defer sp.release()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, errUnlinked
	}
	if !reserved {
		if err := m.settle(s, sp.get()); err != nil {
			return 0, err
		}
		found, err := s.has(p.Timestamp, sp.get())
		if err != nil {
			return 0, err
		}
		if !found {
			return 0, m.errPointLimit()
		}
	}
	// Under a point limit every put is counted at once, so late points go
	// straight into their chunks instead of the buffer.
	added, err := s.put(p, &sp, m.limits.MaxPoints <= 0)
	s.points += added
	return added, err
}

// settle merges the late points s buffers and counts the points it gained.
// Every read of s's chunks settles first. s.mu must be held.
func (m *Memory) settle(s *series, sc *scratch) error {
	if len(s.late) == 0 {
		return nil
	}
	added, err := s.mergeLate(sc)
	s.points += added
	return err
}

// Get implements Storage.
func (m *Memory) Get(key []byte, fn VisitFunc) error {
	s := m.lookup(m.shardOf(key), key)
	if s == nil {
		return nil
	}
	return m.visit(s, fn)
}

// All implements Storage. Series created during the visit may or may not be
// seen; every series that existed when All started is.
func (m *Memory) All(fn VisitFunc) error {
	for _, s := range m.series() {
		if err := m.visit(s, fn); err != nil {
			return err
		}
	}
	return nil
}

// series returns the series that exist now, in creation order. The slice
// is shared: callers must not change it.
func (m *Memory) series() []*series {
	if m.unlinked.Load() > 0 {
		m.compact()
	}
	m.orderMu.RLock()
	defer m.orderMu.RUnlock()
	return m.order[:len(m.order):len(m.order)]
}

// collect settles s and collects its next batch into sc. s.mu must be
// held.
func (m *Memory) collect(s *series, sc *scratch, after int64, first bool) ([]Point, error) {
	if err := m.settle(s, sc); err != nil {
		return sc.pts[:0], err
	}
	return s.collect(sc.pts[:0], after, first)
}

// visit streams s to fn in batches of whole chunks, decoded under the
// series lock and handed to fn without it.
func (m *Memory) visit(s *series, fn VisitFunc) error {
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	var after int64
	for first := true; ; first = false {
		s.mu.Lock()
		batch, err := m.collect(s, sc, after, first)
		s.mu.Unlock()
		sc.pts = batch
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := fn(s.key, batch); err != nil {
			return err
		}
		after = batch[len(batch)-1].Timestamp
	}
}

// Stats returns the number of series and of points stored, for the
// server's self-metrics: one brief lock per series, a few milliseconds per
// million series. With puts under way each series' count is exact at the
// moment Stats reads it. Buffered late points are only counted once merged
// (whether one is new is known then), so Stats merges them first.
func (m *Memory) Stats() (series, points int) {
	all := m.series()
	var sc *scratch
	for _, s := range all {
		s.mu.Lock()
		if len(s.late) > 0 {
			if sc == nil {
				sc = m.scratch.get()
			}
			_ = m.settle(s, sc) // a failed merge keeps its points: the next read reports it
		}
		points += s.points
		s.mu.Unlock()
	}
	if sc != nil {
		m.scratch.put(sc)
	}
	return len(all), points
}

// Keys visits every key in first-insertion order, without its points. key
// is only valid during the call; an error from fn stops the visit and is
// returned.
func (m *Memory) Keys(fn func(key []byte) error) error {
	for _, s := range m.series() {
		if err := fn(s.key); err != nil {
			return err
		}
	}
	return nil
}
