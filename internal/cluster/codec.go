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

// maxRecordOverhead bounds what appendRecord and appendRecordRevLater add
// to a batch beyond the key: the key's length (3 bytes for any key a batch
// holds), the revision (revisionWidth at most), the timestamp (10) and the
// value (8).
const maxRecordOverhead = 3 + revisionWidth + binary.MaxVarintLen64 + 8

// revisionWidth is the room appendRecordRevLater leaves for a revision: a
// uvarint padded to its greatest length, which binary.Uvarint, and so
// decodeBatch, reads like the shortest one.
const revisionWidth = binary.MaxVarintLen64

// appendRecordRevLater appends one point of a published batch whose key
// revision is not known yet, and returns where putRevision writes it.
func appendRecordRevLater(b, key []byte, p store.Point) ([]byte, int) {
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	off := len(b)
	b = append(b, make([]byte, revisionWidth)...)
	b = binary.AppendVarint(b, p.Timestamp)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(p.Value)), off
}

// putRevision writes rev into the revisionWidth bytes at the start of b as
// a padded uvarint: seven bits a byte, the continuation bit set on all but
// the last byte.
func putRevision(b []byte, rev uint64) {
	for i := range revisionWidth - 1 {
		b[i] = byte(rev) | 0x80
		rev >>= 7
	}
	b[revisionWidth-1] = byte(rev)
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

// seriesData is one series of an owner's answer.
type seriesData struct {
	rev    uint64
	key    []byte
	points []store.Point
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

// decodeSeries decodes the series of one answer message, copying what it
// keeps, and appends them to out.
func decodeSeries(b []byte, out []seriesData) ([]seriesData, error) {
	for len(b) > 0 {
		rev, n := binary.Uvarint(b)
		if n <= 0 {
			return out, errCorrupt
		}
		key, rest, ok := takeBytes(b[n:])
		if !ok {
			return out, errCorrupt
		}
		count, n := binary.Uvarint(rest)
		// A point takes at least 9 bytes, which bounds what a corrupt
		// count can make us allocate.
		if n <= 0 || count > uint64(len(rest[n:])/9) {
			return out, errCorrupt
		}
		rest = rest[n:]
		s := seriesData{rev: rev, key: append([]byte(nil), key...), points: make([]store.Point, 0, count)}
		for range count {
			ts, n := binary.Varint(rest)
			if n <= 0 || len(rest[n:]) < 8 {
				return out, errCorrupt
			}
			rest = rest[n:]
			s.points = append(s.points, store.Point{Timestamp: ts, Value: math.Float64frombits(binary.BigEndian.Uint64(rest))})
			rest = rest[8:]
		}
		out = append(out, s)
		b = rest
	}
	return out, nil
}
