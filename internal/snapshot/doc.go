// Package snapshot writes and loads snapshots: the whole store in one file,
// so that the write-ahead log segments it covers can be deleted and startup
// does not replay the log from the beginning.
//
// # File
//
// A snapshot is named snapshot-NNNNNNNN, where NNNNNNNN is the first log
// segment it does not cover: recovery loads it, then replays the log from
// that segment. It is written as snapshot-NNNNNNNN.tmp, fsynced, renamed
// and the directory fsynced, so a snapshot file that exists is complete; a
// leftover .tmp file is an interrupted write and is deleted.
//
//	offset  size  field
//	0       8     magic "MDSNAP\x00\x01"
//	8       4     format version (little-endian uint32, 1)
//	12      4     reserved, 0
//	16      8     first segment not covered (little-endian uint64)
//	24      4     CRC-32C of bytes 0..23
//	28      ...   records, framed as in the write-ahead log (package wal)
//	end-4   4     CRC-32C of every byte before it
//
// Records:
//
//	type 1 (series): uvarint series id, then the key's bytes
//	type 4 (chunks): uvarint series id, then repeated { uvarint length,
//	                 that many bytes: one encoded chunk (package chunkenc) }
//	type 3 (end):    uvarint series count, uvarint chunk count, uvarint
//	                 point count, then optionally uvarint last series id
//	                 (the highest id ever given, deleted series included,
//	                 so that a restart never gives a deleted series' id to
//	                 a new one; readers of the three counts ignore it)
//
// Series appear in first-insertion order, each series record followed by
// that series' chunks records; its chunks are in ascending timestamp order,
// exactly as the in-memory engine holds them, so a snapshot takes no more
// bytes a point than memory does. The series id is the write-ahead log's,
// so the log segments after the snapshot can refer to it. The end record is
// the last record; the trailing checksum follows it and ends the file. Any
// deviation is a corruption error naming the file and offset.
package snapshot
