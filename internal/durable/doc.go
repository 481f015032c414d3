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
// FsyncInterval and FsyncNever the log's own syncer goroutine (package
// wal) does the fsyncs (every FsyncInterval, and of each segment the log
// moves on from), so that a slow fsync never holds back the write an
// acknowledgement waits for.
//
// # Failure
//
// A failed write fails the puts of that batch (none was stored), and the
// log rolls back to the batch's start. When that rollback succeeded
// (wal.ErrNotWritten: a full disk, say), the engine refuses puts with an
// error wrapping ErrFailed, Ready reports it, and the writer retries with
// backoff; once the log takes a write again, puts are taken again. The
// series whose records were in a batch that was never written log their
// records again first. A failed fsync, or a rollback that failed, puts the
// engine into a failed state until restart, because nobody can then say
// what the disk holds; restarting recovers from what is on disk. Under
// FsyncInterval and FsyncNever a failed background fsync can lose, in a
// machine crash, writes acknowledged since the last good one: that is the
// interval those modes promise to risk.
//
// # Recovery
//
// Start loads the newest snapshot, replays the log segments after it
// (logging progress), repairs a torn tail, and refuses to start on a
// damaged snapshot, a damaged record before the end of the log, or a
// missing segment, naming the file and offset.
package durable
