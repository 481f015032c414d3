package store

import (
	"bytes"
	"fmt"

	"metricsd/internal/chunkenc"
)

// SnapshotFunc receives one series for a snapshot: its ID, its key and its
// points as encoded chunks (see package chunkenc; decode them with
// chunkenc.Decode), in ascending timestamp order, every point of a chunk
// before every point of the next. key and chunks are only valid during the
// call. Returning an error stops the snapshot and is returned by Snapshot.
type SnapshotFunc func(id uint64, key []byte, chunks [][]byte) error

// Snapshot visits every series in ID order (which is first-insertion order),
// even one left empty by retention, with its chunks as the engine holds them, so that a snapshot file takes
// no more bytes a point than memory does. Each series is copied out under
// its own lock and fn runs without it, so puts go on meanwhile: a series is
// consistent in itself, but puts made during the call may or may not be in
// the series visited after them. A snapshot therefore covers the log up to
// the moment Snapshot started and possibly a little beyond; replaying a put
// that it already holds is harmless, because puts are last-write-wins.
func (m *Memory) Snapshot(fn SnapshotFunc) error {
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	for _, s := range m.series() {
		s.mu.Lock()
		err := m.settle(s, sc)
		chunks := s.chunks(sc)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		// A series whose points all expired is visited too, without
		// chunks: its key keeps its place in the first-insertion order.
		if err := fn(s.id, s.key, chunks); err != nil {
			return err
		}
	}
	return nil
}

// chunks lists s's chunks into sc: the sealed ones as they are (they never
// change), the head as a copy (it does). s.mu must be held.
func (s *series) chunks(sc *scratch) [][]byte {
	sc.chunks = sc.chunks[:0]
	for _, c := range s.sealed {
		sc.chunks = append(sc.chunks, c.data)
	}
	if s.head.Len() > 0 {
		sc.head = append(sc.head[:0], s.head.Bytes()...)
		sc.chunks = append(sc.chunks, sc.head)
	}
	return sc.chunks
}

// LoadSeries restores a series that Snapshot visited: a new key, with an ID
// that follows every ID the engine has given (Snapshot's IDs ascend, so
// loading a snapshot in its order restores the first-insertion order and
// the IDs themselves), and the chunks Snapshot gave. The chunks are checked
// (they must decode, and their timestamps must ascend strictly across all
// of them) and copied; nothing is stored if they fail. Later puts continue
// from the IDs loaded.
func (m *Memory) LoadSeries(id uint64, key []byte, chunks [][]byte) error {
	if id == 0 {
		return fmt.Errorf("store: load %q: series ID 0", key)
	}
	s := &series{key: append([]byte(nil), key...)}
	sc := m.scratch.get()
	points, err := s.load(chunks, sc)
	m.scratch.put(sc)
	if err != nil {
		return fmt.Errorf("store: load series %d %q: %w", id, key, err)
	}
	s.points = points
	sh := m.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.series[string(key)] != nil {
		return fmt.Errorf("store: load series %d %q: key already stored", id, key)
	}
	if err := m.create(sh, s, id); err != nil {
		return err
	}
	if m.limits.MaxPoints > 0 {
		m.total.Add(int64(points))
	}
	return nil
}

// load fills s, a series not yet visible to anyone, from encoded chunks,
// and returns how many points they hold. Chunks of a usual size are kept as
// they are; larger ones are re-encoded into pieces of chunkPoints, and a
// last chunk smaller than that becomes the head, so that puts go on
// appending to it.
func (s *series) load(chunks [][]byte, sc *scratch) (points int, err error) {
	var prev int64
	for i, c := range chunks {
		pts, err := chunkenc.Decode(sc.pts[:0], c)
		sc.pts = pts
		if err != nil {
			return 0, fmt.Errorf("chunk %d: %w", i, err)
		}
		for j, p := range pts {
			if points+j > 0 && p.Timestamp <= prev {
				return 0, fmt.Errorf("chunk %d: timestamp %d after %d", i, p.Timestamp, prev)
			}
			prev = p.Timestamp
		}
		points += len(pts)
		switch last := i == len(chunks)-1; {
		case len(pts) == 0:
		case last && len(pts) < chunkPoints:
			for _, p := range pts {
				if err := s.head.Append(p.Timestamp, p.Value); err != nil {
					return 0, err
				}
			}
		case len(pts) <= maxChunkPoints:
			s.sealed = append(s.sealed, sealedChunk{data: bytes.Clone(c), maxT: prev})
		default:
			if err := s.sealPieces(pts, sc); err != nil {
				return 0, err
			}
		}
	}
	return points, nil
}

// sealPieces appends pts to the sealed chunks in pieces of chunkPoints.
func (s *series) sealPieces(pts []Point, sc *scratch) error {
	for len(pts) > 0 {
		n := min(len(pts), chunkPoints)
		c, err := s.encode(pts[:n], sc, nil)
		if err != nil {
			return err
		}
		s.sealed = append(s.sealed, c)
		pts = pts[n:]
	}
	return nil
}
