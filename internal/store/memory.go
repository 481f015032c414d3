package store

import (
	"hash/maphash"
	"sync"
)

// shardCount spreads series over independently locked maps so that puts to
// different keys rarely contend; a power of two so a mask picks the shard.
const shardCount = 256

// batchSize bounds how many points a visit copies out under a series lock,
// which bounds both the lock hold time and the memory of one visit.
const batchSize = 512

// Memory is the in-memory storage engine: series sharded by key hash, each
// series behind its own lock, and a list of series in creation order that
// gives `get *` its first-insertion order.
type Memory struct {
	seed   maphash.Seed
	shards [shardCount]shard

	orderMu sync.RWMutex
	order   []*series // every series, in first-put order

	batches sync.Pool // *[]Point scratch for visits
}

// shard is one lock-striped slice of the key space. The padding keeps
// neighbouring shards' locks on different cache lines.
type shard struct {
	mu     sync.RWMutex
	series map[string]*series
	_      [40]byte
}

// NewMemory returns an empty in-memory engine.
func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].series = make(map[string]*series)
	}
	m.batches.New = func() any {
		b := make([]Point, 0, batchSize)
		return &b
	}
	return m
}

func (m *Memory) shardOf(key []byte) *shard {
	return &m.shards[maphash.Bytes(m.seed, key)&(shardCount-1)]
}

// lookup returns the series of key, or nil.
func (m *Memory) lookup(key []byte) *series {
	sh := m.shardOf(key)
	sh.mu.RLock()
	s := sh.series[string(key)]
	sh.mu.RUnlock()
	return s
}

// seriesFor returns the series of key, creating it (and copying key, the
// only copy a put makes) when it is new.
func (m *Memory) seriesFor(key []byte) *series {
	if s := m.lookup(key); s != nil {
		return s
	}
	sh := m.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.series[string(key)]; s != nil {
		return s
	}
	s := &series{key: append([]byte(nil), key...)}
	sh.series[string(s.key)] = s
	m.orderMu.Lock()
	m.order = append(m.order, s)
	m.orderMu.Unlock()
	return s
}

// Put implements Storage.
func (m *Memory) Put(key []byte, p Point) error {
	s := m.seriesFor(key)
	s.mu.Lock()
	s.put(p)
	s.mu.Unlock()
	return nil
}

// Get implements Storage.
func (m *Memory) Get(key []byte, fn VisitFunc) error {
	s := m.lookup(key)
	if s == nil {
		return nil
	}
	return m.visit(s, fn)
}

// All implements Storage. Series created during the visit may or may not be
// seen; every series that existed when All started is.
func (m *Memory) All(fn VisitFunc) error {
	m.orderMu.RLock()
	order := m.order[:len(m.order):len(m.order)]
	m.orderMu.RUnlock()
	for _, s := range order {
		if err := m.visit(s, fn); err != nil {
			return err
		}
	}
	return nil
}

// visit streams s to fn in batches, copying each batch out under the series
// lock and calling fn without it.
func (m *Memory) visit(s *series, fn VisitFunc) error {
	bp := m.batches.Get().(*[]Point)
	defer m.batches.Put(bp)
	var after int64
	for first := true; ; first = false {
		s.mu.Lock()
		batch := s.copyAfter((*bp)[:0], after, first)
		s.mu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		if err := fn(s.key, batch); err != nil {
			return err
		}
		after = batch[len(batch)-1].Timestamp
		if len(batch) < batchSize {
			return nil
		}
	}
}
