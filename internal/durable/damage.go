package durable

import (
	"errors"
	"fmt"

	"metricsd/internal/snapshot"
	"metricsd/internal/wal"
)

// ErrSnapshotMissing is wrapped by the startup error for a log that starts
// after a point that no snapshot on disk covers: the snapshot that held
// everything before it (or the segments between it and an older one) was
// deleted or lost.
var ErrSnapshotMissing = errors.New("snapshot missing")

// DamageError is why Start refused a data directory: damage that a crash
// cannot explain (a record with a bad checksum, a missing segment or
// snapshot, a damaged snapshot with nothing to fall back to). Startup has
// changed nothing on disk. Its text names the file, the offset where there
// is one (in Err), and what to do: restore the file, or repair the
// directory explicitly. docs/operations.md has the advice for each message.
type DamageError struct {
	Dir  string // the data directory
	File string // the damaged or missing file
	Err  error  // what is wrong: a *wal.CorruptionError, a *wal.MissingSegmentError, ...
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%v; nothing was changed on disk: restore %s from a backup, or run `metricsd repair --data-dir %s`, which moves what it must drop aside and says what it dropped (see docs/operations.md)",
		e.Err, e.File, e.Dir)
}

func (e *DamageError) Unwrap() error { return e.Err }

// damaged wraps err in a *DamageError when it reports damage (corruption
// or a missing segment) and returns it unchanged otherwise.
func damaged(dir string, err error) error {
	var ce *wal.CorruptionError
	if errors.As(err, &ce) {
		return &DamageError{Dir: dir, File: ce.File, Err: err}
	}
	var me *wal.MissingSegmentError
	if errors.As(err, &me) {
		return &DamageError{Dir: dir, File: me.Path, Err: err}
	}
	return err
}

// missingSnapshot is the error for a log whose first segment first is
// after from, the segment the snapshot chosen (or none: 0) covers up to.
func missingSnapshot(dir, walPath string, from, first uint64) error {
	if from == 0 {
		return &DamageError{Dir: dir, File: snapshot.Path(dir, first), Err: fmt.Errorf(
			"%w: the write-ahead log in %s starts at segment %s, and no snapshot covers the log before it (%s, which did, is not on disk)",
			ErrSnapshotMissing, walPath, wal.SegmentName(first), snapshot.Path(dir, first))}
	}
	return &DamageError{Dir: dir, File: snapshot.Path(dir, first), Err: fmt.Errorf(
		"%w: %s covers the log before segment %s, but the write-ahead log in %s starts at segment %s: the segments in between, or the newer snapshot %s that covered them, are not on disk",
		ErrSnapshotMissing, snapshot.Path(dir, from), wal.SegmentName(from), walPath, wal.SegmentName(first), snapshot.Path(dir, first))}
}
