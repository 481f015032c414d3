package durable

import (
	"fmt"

	"metricsd/internal/wal"
)

// Delete implements store.Deleter (issue #11.2). Each matching series gets
// a tombstone record in the log, in log order with the puts of its key
// (the key's stripe lock orders them), and leaves the engine's registry,
// so that a later put of the key starts a new series with a new id and
// series record: at the end of the first-insertion order, after a restart
// too. Delete returns once the last tombstone is committed as a put would
// be (written; fsynced too under FsyncAlways), and fails like a put when
// the engine is not ready or the log failed; the keys deleted before a
// failure stay deleted in memory, and their tombstones are in the log
// unless the failure was the write itself.
//
// A delete holds snapMu: a snapshot is then either wholly before it (the
// tombstones come after the cut and are replayed on top) or wholly after
// it (the series are neither in memory nor in the registry), never halfway
// through, when memory (applied after the commit under FsyncAlways) and
// the registry could disagree about a key.
func (e *Engine) Delete(match func(key []byte) bool) (int, error) {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	if err := e.admit(); err != nil {
		return 0, err
	}
	var keys [][]byte
	err := e.mem.Keys(func(k []byte) error {
		if match(k) {
			keys = append(keys, k) // memory's keys are immutable
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var last *batch
	for _, k := range keys {
		b, ok, err := e.deleteKey(k)
		if err != nil {
			return n, err
		}
		if ok {
			n, last = n+1, b
			e.kick() // a full pending batch waits for the writer: wake it
		}
	}
	if last == nil {
		return 0, nil
	}
	<-last.done
	return n, last.err
}

// deleteKey logs the tombstone of key's series, if it has one, into the
// pending batch and takes the series out of the registry, and out of
// memory at once or, under FsyncAlways, after the commit (as puts are
// applied). It returns the batch, which has a done channel to wait on.
func (e *Engine) deleteKey(key []byte) (*batch, bool, error) {
	st := e.stripeOf(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	ref, ok := st.ids[string(key)]
	if !ok {
		return nil, false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.waitRoom(); err != nil {
		return nil, false, err
	}
	b := e.cur
	b.recs.AddDelete(ref.id)
	if e.cfg.Fsync == FsyncAlways {
		b.ops = append(b.ops, op{key: ref.key, del: true})
	} else {
		e.mem.Unlink(key)
	}
	if b.done == nil {
		b.done = make(chan struct{}) // closed by finish, as for FsyncAlways
	}
	delete(st.ids, string(key))
	delete(e.keys, ref.id)
	e.pending.Store(int64(b.recs.Len()))
	return b, true, nil
}

// replayDelete replays a tombstone: the series leaves memory and the
// registry, so that a later series record may name its key again.
func (e *Engine) replayDelete(payload []byte) error {
	id, err := wal.DecodeDelete(payload)
	if err != nil {
		return err
	}
	key, ok := e.keys[id]
	if !ok {
		return fmt.Errorf("%w: delete of unknown series %d", wal.ErrBadRecord, id)
	}
	e.mem.Unlink(key)
	delete(e.stripeOf(key).ids, string(key))
	delete(e.keys, id)
	return nil
}
