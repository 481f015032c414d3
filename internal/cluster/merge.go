package cluster

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"sync"
	"sync/atomic"

	"metricsd/internal/chunkenc"
	"metricsd/internal/store"
)

// chunk is one answer of a partition's owner: series records (see
// appendSeries) in the partition's (revision, key) order, a long series
// possibly cut over several chunks, and whether the partition's answer
// ends with it.
type chunk struct {
	data []byte
	end  bool
}

// fetchFunc fetches the next chunk of stream i; r is the stream's request,
// zero before its first chunk, which fetchFunc fills in and advances.
type fetchFunc func(ctx context.Context, i int, r *readRequest) (chunk, error)

// merge is a k-way merge of partition streams: each stream's chunks are
// fetched in a goroutine of its own, at most window of them held at once
// (fetched, waiting, or being visited), and the series are visited in
// (revision, key) order across streams as they arrive. So a read's memory
// is bounded by streams × window × Config.ReadChunk, whatever the size of
// the data, and a slow visitor (a slow client) holds the fetches back
// instead of piling chunks up.
type merge struct {
	window int
	fetch  fetchFunc

	live    atomic.Int64 // chunks held now, over all streams
	maxLive atomic.Int64 // the most chunks held at once
}

// visitError carries an error of the visitor out of a merge, so that it
// is returned as it is and not taken for the cluster's failure.
type visitError struct{ err error }

func (v *visitError) Error() string { return v.err.Error() }
func (v *visitError) Unwrap() error { return v.err }

// stream is one partition's answer being merged.
type stream struct {
	i      int
	chunks chan fetched  // fetched chunks, in order; never more than window
	free   chan struct{} // a token for each chunk the fetcher may still hold

	rest   []byte // the current chunk's records not yet decoded
	inHand bool   // a chunk is held (its token not yet returned)
	end    bool   // the current chunk is the stream's last

	// The head: the next record to visit, its chunk decoded.
	rev uint64
	key []byte
	pts []store.Point

	// The last point visited: a record that continues its series (the
	// next chunk, or a new owner's after a move) starts after it.
	lastRev uint64
	lastKey []byte
	lastTS  int64
	visited bool
}

type fetched struct {
	c   chunk
	err error
}

// run merges n streams into fn. It returns fn's first error as a
// *visitError, or a fetch's error; either way every fetch has stopped.
func (m *merge) run(ctx context.Context, n int, fn store.VisitFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	streams := make(streamHeap, 0, n)
	for i := range n {
		s := &stream{i: i, chunks: make(chan fetched, m.window), free: make(chan struct{}, m.window)}
		for range m.window {
			s.free <- struct{}{}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.fetchAll(ctx, s)
		}()
		streams = append(streams, s)
	}
	// Every stream's first record must be in hand before the smallest is
	// known.
	live := streams[:0]
	for _, s := range streams {
		ok, err := m.advance(ctx, s)
		if err != nil {
			return err
		}
		if ok {
			live = append(live, s)
		}
	}
	h := live
	heap.Init(&h)
	for len(h) > 0 {
		s := h[0]
		if err := fn(s.key, s.pts); err != nil {
			return &visitError{err}
		}
		s.visitedHead()
		prevRev, prevKey := s.rev, s.lastKey
		ok, err := m.advance(ctx, s)
		if err != nil {
			return err
		}
		if !ok {
			heap.Pop(&h)
			continue
		}
		if s.rev < prevRev || (s.rev == prevRev && bytes.Compare(s.key, prevKey) < 0) {
			return errCorrupt // an owner's records out of order
		}
		heap.Fix(&h, 0)
	}
	return nil
}

// fetchAll fetches stream s's chunks in order, each once a token is free,
// until its last chunk, an error or ctx's end.
func (m *merge) fetchAll(ctx context.Context, s *stream) {
	var r readRequest
	for {
		select {
		case <-s.free:
		case <-ctx.Done():
			return
		}
		c, err := m.fetch(ctx, s.i, &r)
		if err == nil {
			m.hold()
		}
		// Never blocks: the channel has room for every token.
		s.chunks <- fetched{c, err}
		if err != nil || c.end {
			return
		}
	}
}

func (m *merge) hold() {
	n := m.live.Add(1)
	for {
		top := m.maxLive.Load()
		if n <= top || m.maxLive.CompareAndSwap(top, n) {
			return
		}
	}
}

// advance decodes s's next record into its head, releasing a chunk it has
// finished and waiting for the next one. It reports false at the stream's
// end.
func (m *merge) advance(ctx context.Context, s *stream) (bool, error) {
	for len(s.rest) == 0 {
		if s.inHand {
			s.inHand = false
			m.live.Add(-1)
			s.free <- struct{}{}
			if s.end {
				return false, nil
			}
		}
		var f fetched
		select {
		case f = <-s.chunks:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if f.err != nil {
			return false, f.err
		}
		s.rest, s.end, s.inHand = f.c.data, f.c.end, true
	}
	rev, key, encoded, rest, err := takeEncoded(s.rest)
	if err != nil {
		return false, err
	}
	s.rest = rest
	s.pts = s.pts[:0]
	if len(encoded) > 0 { // else a key listing's record
		if s.pts, err = chunkenc.Decode(s.pts, encoded); err != nil {
			return false, errCorrupt
		}
	}
	s.rev, s.key = rev, key
	if s.visited && rev == s.lastRev && bytes.Equal(key, s.lastKey) {
		// The series goes on: drop what was visited already (a chunk
		// that a new owner cut elsewhere starts before the cursor).
		k := 0
		for k < len(s.pts) && s.pts[k].Timestamp <= s.lastTS {
			k++
		}
		if s.pts = s.pts[k:]; len(s.pts) == 0 {
			return m.advance(ctx, s)
		}
	}
	return true, nil
}

// visited records s's head as visited.
func (s *stream) visitedHead() {
	s.visited, s.lastRev = true, s.rev
	s.lastKey = append(s.lastKey[:0], s.key...)
	if len(s.pts) > 0 {
		s.lastTS = s.pts[len(s.pts)-1].Timestamp
	}
}

// streamHeap orders streams by their heads' (revision, key); equal heads
// (which two partitions never hold) by stream, so the order is fixed.
type streamHeap []*stream

func (h streamHeap) Len() int { return len(h) }
func (h streamHeap) Less(a, b int) bool {
	x, y := h[a], h[b]
	if x.rev != y.rev {
		return x.rev < y.rev
	}
	if c := bytes.Compare(x.key, y.key); c != 0 {
		return c < 0
	}
	return cmp.Less(x.i, y.i)
}
func (h streamHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *streamHeap) Push(x any)   { *h = append(*h, x.(*stream)) }
func (h *streamHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
