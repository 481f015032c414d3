// Package durable is metricsd's persistent storage engine: a
// store.Storage that keeps points in a store.Memory and makes every
// accepted put survive a restart through a write-ahead log (package wal)
// and periodic snapshots (package snapshot), all in one data directory:
//
//	DIR/LOCK                 flock(2) held while an engine runs
//	DIR/wal/00000000 ...     log segments
//	DIR/snapshot-00000007    newest snapshot: covers the log before segment 7
//
// # Order
//
// store.Memory owns the series and their IDs. Submit asks it for the
// put's series (store.Memory.Ref), which checks the store's limits first:
// a refused put logs nothing. A series memory creates is reported back
// (logSeries) under memory's creation lock, so series records are logged
// in ID order and before any point of their series. The point is logged
// by the series' ID; the single writer goroutine writes the batch (and
// under FsyncAlways fsyncs it), then applies its puts to memory in log
// order, then wakes their waiters. So for each key, memory and the log
// see puts in one order (replay reproduces last-write-wins and
// first-insertion order exactly), an error means nothing was stored, and
// a point is never visible or acknowledged before the operating system
// has it.
//
// # Group commit
//
// The writer takes everything pending, writes it with one write, and
// under FsyncAlways fsyncs once for every put in it; puts that arrive
// during that write form the next batch, so a pipelined batch of puts,
// and concurrent clients' puts, share one write (and fsync). Under
// FsyncInterval and FsyncNever a second goroutine, the syncer, does the
// fsyncs (every FsyncInterval, and of each segment the writer leaves), so
// that a slow fsync never holds back the write an acknowledgement waits
// for.
//
// # Failure
//
// A failed write or fsync fails the puts of that batch, rolls the log back
// to the batch's start, and puts the engine into a failed state: every
// later put is refused with an error wrapping ErrFailed and Ready reports
// it, because after a failed fsync nobody can say what the disk holds.
// Restarting the process recovers from what is on disk. Under
// FsyncInterval and FsyncNever a failed fsync can lose writes that were
// acknowledged since the last good one: that is the interval those modes
// promise to risk. The series whose records were in a batch that was
// never written log their records again with their next point.
//
// # Recovery
//
// Start loads the newest snapshot, replays the log segments after it
// (logging progress), repairs a torn tail, and refuses to start on a
// damaged snapshot, a damaged record before the end of the log, or a
// missing segment, naming the file and offset.
package durable
