package durable

import (
	"fmt"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

// Delete implements store.Deleter (issue #11.2). Each matching series gets
// a tombstone record in the log and leaves memory at once, both under e.mu,
// so that the tombstone's place in the log order is also where memory drops
// the series: a put logged before it is deleted with it (PutRef into a gone
// series stores nothing), and a put that comes after asks memory again and
// creates a new series, with a new ID and series record, at the end of the
// first-insertion order, after a restart too. Delete returns once the last
// tombstone is committed as a put would be (written; fsynced too under
// FsyncAlways), and fails like a put when the engine is not ready or the
// log failed; keys deleted before a failure stay deleted in memory.
//
// A delete holds snapMu: a snapshot is then either wholly before it (the
// tombstones come after the cut and are replayed on top) or wholly after
// it, never halfway through.
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
	var last store.Ticket
	for _, k := range keys {
		t, ok, err := e.deleteKey(k)
		if err != nil {
			return n, err
		}
		if ok {
			n, last = n+1, t
			e.kick() // a full pending batch waits for the writer: wake it
		}
	}
	if n == 0 {
		return 0, nil
	}
	return n, last.Wait()
}

// deleteKey logs the tombstone of key's series, if it has one, into the
// pending batch and drops the series from memory, under e.mu; the ticket
// completes with the batch.
func (e *Engine) deleteKey(key []byte) (store.Ticket, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.waitRoom(); err != nil {
		return store.Ticket{}, false, err
	}
	ref, ok := e.mem.Lookup(key)
	if !ok {
		return store.Ticket{}, false, nil
	}
	b := e.cur
	if len(e.unlogged) > 0 {
		e.relog(ref) // the tombstone must name a series the log knows
	}
	b.recs.AddDelete(ref.ID())
	e.mem.Unlink(key)
	b.ops = append(b.ops, op{ref: ref, del: true})
	e.pending.Store(int64(b.recs.Len()))
	return b.commit.Ticket(len(b.ops) - 1), true, nil
}

// replayDelete replays a tombstone: the series leaves memory, so that a
// later series record may name its key again.
func (p *progress) replayDelete(payload []byte) error {
	id, err := wal.DecodeDelete(payload)
	if err != nil {
		return err
	}
	ref, ok := p.e.mem.RefByID(id)
	if !ok || ref.Gone() {
		return fmt.Errorf("%w: delete of unknown series %d", wal.ErrBadRecord, id)
	}
	p.e.mem.Unlink(ref.Key())
	if id < uint64(len(p.refs)) {
		p.refs[id] = store.Ref{}
	}
	return nil
}
