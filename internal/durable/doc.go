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
// For each key, the log's order is the order in which its puts are
// applied to memory, and series records are in the order in which memory
// created the series, so a replay reproduces last-write-wins and
// first-insertion order exactly. Under FsyncInterval and FsyncNever,
// Submit holds the key's stripe lock while it applies the put to memory and
// then appends its record to the pending batch (puts of other keys go on in
// parallel); a new series is created in memory and logged in one critical
// section of the engine's mutex. Under FsyncAlways, Submit only appends the
// record; the single writer goroutine writes and fsyncs the batch, then
// applies its puts in log order, then wakes their waiters: an error
// therefore means nothing was stored, and a point is never visible before
// it is durable.
//
// # Group commit
//
// One writer goroutine appends to the log. It takes everything pending,
// writes it with one write, and under FsyncAlways fsyncs once for every put
// in it; puts that arrive during that fsync form the next batch. Under
// FsyncInterval and FsyncNever a second goroutine, the syncer, does the
// fsyncs (every FsyncInterval, and of each segment the writer leaves), so
// that a slow fsync never holds acknowledged puts back from the file.
//
// # Failure
//
// A failed write or fsync fails the puts of that batch, rolls the log back
// to the batch's start, and puts the engine into a failed state: every
// later put is refused with an error wrapping ErrFailed and Ready reports
// it, because after a failed fsync nobody can say what the disk holds.
// Restarting the process recovers from what is on disk. Under
// FsyncInterval and FsyncNever the failed batch had already been applied
// and acknowledged: that is the interval the mode promises to risk.
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
