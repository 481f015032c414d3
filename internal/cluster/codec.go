package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"

	"metricsd/internal/store"
)

// errCorrupt is returned for a message that does not decode: a bug or a
// foreign publisher on metricsd's subjects.
var errCorrupt = errors.New("cluster: corrupt message")

// PartitionOf is key's partition among n. It is FNV-1a, fixed so that every
// node and every version computes the same partition (maphash is seeded per
// process).
func PartitionOf(key []byte, n int) int {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int(h % uint64(n))
}

// maxPlainKVKey bounds the encoded length of a key that is kept readable in
// the keys bucket; longer keys are named by their hash, because a KV key is
// part of a subject and NATS bounds a protocol line (4 KiB by default).
const maxPlainKVKey = 200

// kvKey names key in the keys bucket: its base64url encoding (the KV key
// alphabet is [-/_=.A-Za-z0-9], which base64url without padding stays in,
// never using '.'), or "h." and its SHA-256 in hex when that is too long.
// The entry's value is the key itself, so a hashed name can be checked.
func kvKey(key []byte) (name string, hashed bool) {
	if base64.RawURLEncoding.EncodedLen(len(key)) <= maxPlainKVKey {
		return base64.RawURLEncoding.EncodeToString(key), false
	}
	sum := sha256.Sum256(key)
	return "h." + hex.EncodeToString(sum[:]), true
}

// appendRecord appends one point of a published batch.
func appendRecord(b, key []byte, rev uint64, p store.Point) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, rev)
	b = binary.AppendVarint(b, p.Timestamp)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(p.Value))
}

// decodeBatch calls fn for each point of a published batch, in order. key
// is a view into b.
func decodeBatch(b []byte, fn func(key []byte, rev uint64, p store.Point) error) error {
	for len(b) > 0 {
		key, rest, ok := takeBytes(b)
		if !ok {
			return errCorrupt
		}
		rev, n := binary.Uvarint(rest)
		if n <= 0 {
			return errCorrupt
		}
		rest = rest[n:]
		ts, n := binary.Varint(rest)
		if n <= 0 || len(rest[n:]) < 8 {
			return errCorrupt
		}
		rest = rest[n:]
		p := store.Point{Timestamp: ts, Value: math.Float64frombits(binary.BigEndian.Uint64(rest))}
		if err := fn(key, rev, p); err != nil {
			return err
		}
		b = rest[8:]
	}
	return nil
}

// takeBytes splits a uvarint-length-prefixed byte string off b.
func takeBytes(b []byte) (s, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil, nil, false
	}
	return b[n : n+int(l)], b[n+int(l):], true
}

// appendSeries appends a series (or a run of its points) of an answer:
// uvarint(rev) uvarint(len(key)) key uvarint(len(points)) and per point
// varint(timestamp) and the value's bits.
func appendSeries(b []byte, rev uint64, key []byte, points []store.Point) []byte {
	b = binary.AppendUvarint(b, rev)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(points)))
	for _, p := range points {
		b = binary.AppendVarint(b, p.Timestamp)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Value))
	}
	return b
}

// seriesOverhead bounds what appendSeries adds beside the key and the
// points: three uvarints.
const seriesOverhead = 3 * binary.MaxVarintLen64

// maxPointBytes bounds one point in appendSeries: a varint and 8 bytes.
const maxPointBytes = binary.MaxVarintLen64 + 8

// takeSeries decodes the first series record of b (see appendSeries),
// appending its points to pts[:0]. key is a view into b; rest is what
// follows the record.
func takeSeries(b []byte, pts []store.Point) (rev uint64, key []byte, _ []store.Point, rest []byte, err error) {
	rev, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, pts, nil, errCorrupt
	}
	key, rest, ok := takeBytes(b[n:])
	if !ok {
		return 0, nil, pts, nil, errCorrupt
	}
	count, n := binary.Uvarint(rest)
	// A point takes at least 9 bytes, which bounds what a corrupt count
	// can make us allocate.
	if n <= 0 || count > uint64(len(rest[n:])/9) {
		return 0, nil, pts, nil, errCorrupt
	}
	rest = rest[n:]
	pts = pts[:0]
	for range count {
		ts, n := binary.Varint(rest)
		if n <= 0 || len(rest[n:]) < 8 {
			return 0, nil, pts, nil, errCorrupt
		}
		rest = rest[n:]
		pts = append(pts, store.Point{Timestamp: ts, Value: math.Float64frombits(binary.BigEndian.Uint64(rest))})
		rest = rest[8:]
	}
	return rev, key, pts, rest, nil
}
