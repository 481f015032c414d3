// Package wal is metricsd's write-ahead log: every accepted put is
// appended here before it is acknowledged, and replayed at startup.
//
// # Files
//
// A log is a directory of segment files named by their index, zero-padded
// to eight digits (00000000, 00000001, ...). A segment holds at most
// Options.SegmentSize bytes (64 MiB by default) of whole frames: no frame
// crosses a segment boundary, so a segment that a snapshot covers can be
// deleted whole.
//
// # Frames
//
// Every record is one frame:
//
//	offset  size  field
//	0       4     body length n (little-endian uint32, 1 <= n <= MaxBodySize)
//	4       4     CRC-32C (Castagnoli) of the body (little-endian uint32)
//	8       n     body: record type (1 byte), then the payload
//
// # Records
//
//	type 1 (series): uvarint series id, then the key's bytes to the end
//	type 2 (points): repeated { uvarint series id,
//	                            zigzag varint timestamp minus the previous
//	                            point's in this record (the first: minus 0),
//	                            8-byte little-endian float64 bits }
//	type 3 (delete): uvarint series id: the series is deleted (a tombstone)
//
// A series record is logged once per series, before its first point, with
// ids 1, 2, 3, ... in first-put order. Points records are at most 32 KiB
// (a quarter of a segment if that is less).
// Records appear in the order in which the puts were applied to memory, so
// replaying them reproduces last-write-wins and first-insertion order.
//
// # Recovery
//
// Only the last record of the last segment can be torn by a crash. Replay
// treats a damaged frame as a torn tail when no valid frame follows it in
// that segment: it truncates the file there, fsyncs it and logs the bytes
// dropped. A damaged frame anywhere else, or one followed by a valid frame,
// is a *CorruptionError naming the file and offset, and recovery stops
// rather than discard the good records after it. See docs/wal-format.md.
package wal
