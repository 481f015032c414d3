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
// Only the last record of the last segment can be torn by a crash, and a
// torn write has one of two shapes (Torn): a final frame whose length runs
// past the end of the file, with no valid frame inside what it claims, or
// an all-zero tail. Replay truncates those, fsyncs the file, logs and
// counts the bytes dropped. Any other damage, a complete frame with a bad
// checksum included (even the very last one: under --fsync=always it was
// acknowledged), is a *CorruptionError naming the file and offset, and a
// gap in the numbering a *MissingSegmentError; recovery stops rather than
// discard what it holds. See docs/wal-format.md.
package wal
