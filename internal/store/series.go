package store

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"metricsd/internal/chunkenc"
)

// Chunk sizes. A series is a list of sealed chunks, each encoded once and
// then only replaced, plus a head chunk that in-order puts append to. 256
// points keep the head (the least compressed part, ~2.7 bytes a point for
// random two-decimal values against ~1.8 sealed) a small share of a series,
// and keep the re-encoding that an out-of-order put into a sealed chunk
// costs to a few microseconds.
const (
	// chunkPoints is how many points the head takes before it is sealed.
	chunkPoints = 256
	// maxChunkPoints bounds a sealed chunk that out-of-order puts have
	// grown: past it the chunk is split in two. It is also the capacity of a
	// visit's batch, which holds whole chunks.
	maxChunkPoints = 2 * chunkPoints
)

// sealedChunk is an encoded chunk and its last timestamp, by which puts and
// visits find it without decoding.
type sealedChunk struct {
	data []byte // never changed once sealed: a new slice replaces it
	maxT int64
}

// series holds one key's points, sorted by timestamp and unique per
// timestamp: every point of sealed[i] comes before every point of
// sealed[i+1], and every sealed point before every head point. Its methods
// require mu to be held by the caller.
type series struct {
	mu     sync.Mutex
	id     uint64 // set at creation, never changed
	key    []byte // immutable after creation, shared with visitors
	sealed []sealedChunk
	head   chunkenc.Appender
	late   []Point // points for sealed chunks, not yet merged (see addLate)
	// points counts the points stored, late ones once merged. It lives
	// under mu rather than in a shared atomic: a per-put atomic add on a
	// shard-wide counter was 4 % of the server's CPU under pipelined puts.
	points int
	// gone is set when the series is deleted (see Memory.Unlink): a put
	// that finds it looks its key up again.
	gone bool
}

// scratch is the working space of the operations that decode a chunk
// (sealing, out-of-order puts, visits, snapshots), kept between them so
// that they allocate nothing of their own.
type scratch struct {
	pts    []Point
	merged []Point // mergeLate's output
	enc    chunkenc.Encoder
	buf    []byte
	chunks [][]byte // Snapshot's chunk list
	head   []byte   // Snapshot's copy of a head chunk
}

// scratchList is a bounded free list of scratch. Unlike a sync.Pool it
// keeps its items across garbage collections (and under the race detector),
// so that the allocations of a put stay predictable; past its capacity,
// extra scratch is allocated and dropped.
type scratchList chan *scratch

func (l scratchList) get() *scratch {
	select {
	case sc := <-l:
		return sc
	default:
		return &scratch{pts: make([]Point, 0, maxChunkPoints+1)}
	}
}

func (l scratchList) put(sc *scratch) {
	if cap(sc.pts) > 2*(maxChunkPoints+1) {
		return // grown by a large loaded chunk: let it go
	}
	select {
	case l <- sc:
	default:
	}
}

// lazyScratch takes scratch from the list only when first needed, so that
// the common put (an append) never touches the list.
type lazyScratch struct {
	list scratchList
	sc   *scratch
}

func (l *lazyScratch) get() *scratch {
	if l.sc == nil {
		l.sc = l.list.get()
	}
	return l.sc
}

// release gives back the scratch taken, if any.
func (l *lazyScratch) release() {
	if l.sc != nil {
		l.list.put(l.sc)
		l.sc = nil
	}
}

// inHead reports whether a point at t belongs in the head: after every
// sealed point.
func (s *series) inHead(t int64) bool {
	return len(s.sealed) == 0 || t > s.sealed[len(s.sealed)-1].maxT
}

// put stores p, replacing a point at the same timestamp, and returns how
// many points the series gained: 0 or 1, or more when buffered late points
// were merged. With buffer unset, a point for a sealed chunk goes straight
// into it, so that the count is exact at once (the point limit needs it).
func (s *series) put(p Point, sp *lazyScratch, buffer bool) (int, error) {
	t := p.Timestamp
	if buffer && s.isLate(t) {
		return s.addLate(p, sp)
	}
	if !s.inHead(t) {
		added, err := s.putSealed(p, sp.get())
		return b2i(added), err
	}
	added, err := s.putHead(p, sp)
	return b2i(added), err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// putHead stores p, which is after every sealed point, in the head, and
// seals the head when it is full.
func (s *series) putHead(p Point, sp *lazyScratch) (added bool, err error) {
	t := p.Timestamp
	switch {
	case s.head.Len() == 0 || t > s.head.LastTimestamp():
		if err := s.head.Append(t, p.Value); err != nil {
			return false, fmt.Errorf("store: append to %q: %w", s.key, err)
		}
		added = true
	case t == s.head.LastTimestamp():
		s.head.ReplaceLast(p.Value)
	default:
		sc := sp.get()
		if added, sc.pts, err = s.head.Put(t, p.Value, sc.pts); err != nil {
			return false, fmt.Errorf("store: insert into %q: %w", s.key, err)
		}
	}
	if s.head.Len() >= chunkPoints {
		return added, s.seal(sp.get())
	}
	return added, nil
}

// seal turns the head into a sealed chunk, re-encoded in the smaller block
// form unless the stream is smaller, and empties the head (keeping a buffer
// fitted to the next chunk).
func (s *series) seal(sc *scratch) error {
	pts, err := chunkenc.Decode(sc.pts[:0], s.head.Bytes())
	sc.pts = pts
	if err != nil {
		return fmt.Errorf("store: seal %q: %w", s.key, err)
	}
	c, err := s.encode(pts, sc, s.head.Bytes())
	if err != nil {
		return err
	}
	s.sealed = appendSealed(s.sealed, c)
	s.head.Recycle()
	return nil
}

// appendSealed appends c to a series' chunk list, growing it by a quarter
// rather than append's doubling: every series holds its list's spare room.
func appendSealed(list []sealedChunk, c sealedChunk) []sealedChunk {
	if len(list) == cap(list) {
		bigger := make([]sealedChunk, len(list), len(list)+max(1, len(list)/4))
		copy(bigger, list)
		list = bigger
	}
	return append(list, c)
}

// encode makes a sealed chunk of pts (not empty), or of alt when alt is a
// smaller encoding of the same points.
func (s *series) encode(pts []Point, sc *scratch, alt []byte) (sealedChunk, error) {
	buf, err := sc.enc.Append(sc.buf[:0], pts)
	sc.buf = buf
	if err != nil {
		return sealedChunk{}, fmt.Errorf("store: encode %q: %w", s.key, err)
	}
	if alt != nil && len(alt) < len(buf) {
		buf = alt
	}
	return sealedChunk{data: bytes.Clone(buf), maxT: pts[len(pts)-1].Timestamp}, nil
}

// putSealed stores p in the sealed chunk whose range covers it: the chunk
// is decoded, changed and encoded again (a few microseconds for 256
// points), and split in two if it has grown past maxChunkPoints.
func (s *series) putSealed(p Point, sc *scratch) (added bool, err error) {
	t := p.Timestamp
	i := sort.Search(len(s.sealed), func(i int) bool { return s.sealed[i].maxT >= t })
	pts, err := chunkenc.Decode(sc.pts[:0], s.sealed[i].data)
	sc.pts = pts
	if err != nil {
		return false, fmt.Errorf("store: decode chunk of %q: %w", s.key, err)
	}
	j, found := slices.BinarySearchFunc(pts, t, func(q Point, t int64) int { return cmp.Compare(q.Timestamp, t) })
	if found && math.Float64bits(pts[j].Value) == math.Float64bits(p.Value) {
		// A put that changes nothing (an agent or a client re-sending
		// what it sent) must not pay for re-encoding the chunk.
		return false, nil
	}
	if found {
		pts[j].Value = p.Value
	} else {
		pts = slices.Insert(pts, j, p)
		sc.pts = pts
	}
	if len(pts) <= maxChunkPoints {
		c, err := s.encode(pts, sc, nil)
		if err != nil {
			return false, err
		}
		s.sealed[i] = c
		return !found, nil
	}
	half := len(pts) / 2
	first, err := s.encode(pts[:half], sc, nil)
	if err != nil {
		return false, err
	}
	second, err := s.encode(pts[half:], sc, nil)
	if err != nil {
		return false, err
	}
	s.sealed[i] = first
	s.sealed = slices.Insert(s.sealed, i+1, second)
	return true, nil
}

// collect appends to dst the points after after (all points when first is
// set), in whole chunks for as long as dst stays within maxChunkPoints; it
// returns dst unchanged when there is nothing more to visit.
func (s *series) collect(dst []Point, after int64, first bool) ([]Point, error) {
	i := 0
	if !first {
		i = sort.Search(len(s.sealed), func(i int) bool { return s.sealed[i].maxT > after })
	}
	var fits bool
	var err error
	for ; i < len(s.sealed); i++ {
		if dst, fits, err = appendChunk(dst, s.sealed[i].data, after, first); err != nil || !fits {
			return dst, err
		}
	}
	if s.head.Len() > 0 && (first || s.head.LastTimestamp() > after) {
		dst, _, err = appendChunk(dst, s.head.Bytes(), after, first)
	}
	return dst, err
}

// appendChunk decodes chunk onto dst if dst stays within maxChunkPoints (or
// is empty), dropping points at or before after unless first is set.
func appendChunk(dst []Point, chunk []byte, after int64, first bool) (_ []Point, fits bool, err error) {
	_, n, err := chunkenc.Header(chunk)
	if err != nil {
		return dst, false, fmt.Errorf("store: visit: %w", err)
	}
	if len(dst) > 0 && len(dst)+n > maxChunkPoints {
		return dst, false, nil
	}
	start := len(dst)
	if dst, err = chunkenc.Decode(dst, chunk); err != nil {
		return dst, false, fmt.Errorf("store: visit: %w", err)
	}
	if !first {
		k := start
		for k < len(dst) && dst[k].Timestamp <= after {
			k++
		}
		dst = append(dst[:start], dst[k:]...)
	}
	return dst, true, nil
}
