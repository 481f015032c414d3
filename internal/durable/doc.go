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
// Start loads the newest snapshot that reads back whole, replays the log
// segments after it (logging progress) and cuts a torn tail (an incomplete
// last record or an all-zero tail of the last segment, see wal.Torn). The
// previous snapshot and the log since it are kept until a newer snapshot
// is trusted (fallback.go), so a damaged newest snapshot falls back to
// them with nothing lost. Any other damage (a record with a bad checksum,
// even the last one; a missing segment or snapshot; a damaged snapshot
// without a fallback) stops Start with a *DamageError naming the file, the
// offset and the way out: restore the file, or Repair the directory
// (repair.go, `metricsd repair`), which moves what it drops aside.
//
// # Delete
//
// Delete (delete.go) logs a tombstone per deleted series, in log order with
// the key's puts; replay, snapshots and repair respect it.
package durable
