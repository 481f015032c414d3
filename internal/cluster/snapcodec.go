package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"metricsd/internal/chunkenc"
)

// A partition snapshot object (bucket metricsd-snapshots, see doc.go)
// holds one partition's engine contents as of one stream sequence:
//
//	offset  size  field
//	0       8     magic "MDPSNAP\x00"
//	8       4     format version (little-endian uint32, snapVersion)
//	12      4     partition (little-endian uint32)
//	16      8     stream sequence of the last message applied (LE uint64)
//	24      8     series count (LE uint64)
//	32      8     point count (LE uint64)
//	40      ...   series, in the partition engine's first-insertion order:
//	              uvarint(key revision) uvarint(len(key)) key
//	              uvarint(chunk count), per chunk uvarint(len) and its
//	              bytes (package chunkenc, ascending timestamps)
//	end-4   4     CRC-32C of every byte before it
//
// The chunks are the engine's own (store.Memory.Snapshot hands them out
// and LoadSeries takes them back), so an object takes about as many bytes
// a point as memory does. The single server's snapshot file
// (internal/snapshot) is not reused: it is a file framed for a log's
// series IDs, where a partition needs each key's cluster-wide revision and
// an object built in memory.
const (
	snapMagic      = "MDPSNAP\x00"
	snapVersion    = 1
	snapHeaderSize = 40
)

// errBadSnapshot is wrapped by every error about a snapshot object that
// does not decode: damage, or a format this version does not read.
var errBadSnapshot = errors.New("cluster: snapshot object damaged")

// snapHeader is a snapshot object's header.
type snapHeader struct {
	partition int
	seq       uint64
	series    uint64
	points    uint64
}

// snapEncoder builds a snapshot object.
type snapEncoder struct {
	b      []byte
	series uint64
	points uint64
}

func newSnapEncoder(partition int, seq uint64) *snapEncoder {
	b := make([]byte, snapHeaderSize, 64<<10)
	copy(b, snapMagic)
	binary.LittleEndian.PutUint32(b[8:], snapVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(partition))
	binary.LittleEndian.PutUint64(b[16:], seq)
	return &snapEncoder{b: b}
}

// add appends one series; chunks are copied.
func (enc *snapEncoder) add(rev uint64, key []byte, chunks [][]byte) error {
	enc.b = binary.AppendUvarint(enc.b, rev)
	enc.b = binary.AppendUvarint(enc.b, uint64(len(key)))
	enc.b = append(enc.b, key...)
	enc.b = binary.AppendUvarint(enc.b, uint64(len(chunks)))
	for _, c := range chunks {
		_, n, err := chunkenc.Header(c)
		if err != nil {
			return fmt.Errorf("cluster: snapshot series %q: %w", key, err)
		}
		enc.points += uint64(n)
		enc.b = binary.AppendUvarint(enc.b, uint64(len(c)))
		enc.b = append(enc.b, c...)
	}
	enc.series++
	return nil
}

// finish writes the counts and the checksum and returns the object.
func (enc *snapEncoder) finish() []byte {
	binary.LittleEndian.PutUint64(enc.b[24:], enc.series)
	binary.LittleEndian.PutUint64(enc.b[32:], enc.points)
	return binary.LittleEndian.AppendUint32(enc.b, crc32.Checksum(enc.b, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeSnapshot checks a snapshot object and calls fn for each series in
// order; key and chunks are views into b. Every length is checked against
// the bytes left, the checksum before anything is decoded, and the counts
// against the header; an error wraps errBadSnapshot unless fn returned it.
// The chunks' contents are checked by whoever loads them
// (store.Memory.LoadSeries decodes every chunk).
func decodeSnapshot(b []byte, fn func(rev uint64, key []byte, chunks [][]byte) error) (snapHeader, error) {
	bad := func(format string, args ...any) (snapHeader, error) {
		return snapHeader{}, fmt.Errorf("%w: %s", errBadSnapshot, fmt.Sprintf(format, args...))
	}
	if len(b) < snapHeaderSize+4 {
		return bad("%d bytes, shorter than a header", len(b))
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return bad("checksum mismatch")
	}
	if string(body[:8]) != snapMagic {
		return bad("not a metricsd partition snapshot (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(body[8:]); v != snapVersion {
		return bad("format version %d, this metricsd reads %d", v, snapVersion)
	}
	h := snapHeader{
		partition: int(binary.LittleEndian.Uint32(body[12:])),
		seq:       binary.LittleEndian.Uint64(body[16:]),
		series:    binary.LittleEndian.Uint64(body[24:]),
		points:    binary.LittleEndian.Uint64(body[32:]),
	}
	var series, points uint64
	var chunks [][]byte
	for rest := body[snapHeaderSize:]; len(rest) > 0; {
		rev, n := binary.Uvarint(rest)
		if n <= 0 {
			return bad("series %d: revision", series)
		}
		key, r, ok := takeBytes(rest[n:])
		if !ok {
			return bad("series %d: key", series)
		}
		count, n := binary.Uvarint(r)
		// A chunk takes at least one byte, which bounds what a damaged
		// count can make us allocate.
		if n <= 0 || count > uint64(len(r)-n) {
			return bad("series %d: chunk count", series)
		}
		r = r[n:]
		chunks = chunks[:0]
		for range count {
			var c []byte
			if c, r, ok = takeBytes(r); !ok {
				return bad("series %d: chunk length", series)
			}
			_, np, err := chunkenc.Header(c)
			if err != nil {
				return bad("series %d: chunk: %v", series, err)
			}
			points += uint64(np)
			chunks = append(chunks, c)
		}
		if err := fn(rev, key, chunks); err != nil {
			return snapHeader{}, err
		}
		series++
		rest = r
	}
	if series != h.series || points != h.points {
		return bad("%d series and %d points, the header says %d and %d", series, points, h.series, h.points)
	}
	return h, nil
}

// snapName is the object name of partition p's snapshot at stream sequence
// seq. A new snapshot is a new object (the older ones are deleted once
// they are no longer needed, see snapshot.go), never a replacement of the
// same name: a paused former owner that wakes up and writes an older
// snapshot must not overwrite the newer one.
func snapName(p int, seq uint64) string {
	return fmt.Sprintf("p%d.%020d", p, seq)
}

// parseSnapName is snapName's inverse.
func parseSnapName(name string) (p int, seq uint64, ok bool) {
	ps, ss, found := strings.Cut(name, ".")
	if !found || !strings.HasPrefix(ps, "p") || len(ss) != 20 {
		return 0, 0, false
	}
	p, err := strconv.Atoi(ps[1:])
	if err != nil || p < 0 {
		return 0, 0, false
	}
	seq, err = strconv.ParseUint(ss, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return p, seq, true
}
