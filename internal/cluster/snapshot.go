package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/store"
)

// Snapshots. An owner snapshots each partition it owns to the Object Store
// bucket metricsd-snapshots once it has applied Config.SnapshotPoints
// points (and a quarter of the partition) since the last snapshot, or
// Config.SnapshotInterval has passed with anything applied. A snapshot is
// the partition's engine contents exactly as of one stream sequence S
// (taken while applying is held off), stored as the object p<p>.<S>
// (snapcodec.go). Then:
//
//  1. the object is read back and compared with what was written;
//  2. the owner renews its lease by compare-and-set (commit): only an
//     owner that still held the lease after the object was stored goes on;
//  3. the partition's subject is purged up to the previous snapshot's
//     sequence B (not S: the previous object stays a fallback, see load);
//  4. the partition's objects older than B are deleted.
//
// A new owner lists the partition's objects, loads the newest and replays
// the stream from its sequence + 1. Why this is safe against a paused
// former owner: a purge follows a commit, a commit is a CAS on the lease's
// revision, and a claim is a CAS on the revision the claimer saw; so every
// purge that can ever happen was decided by a commit that preceded the
// claim, and that commit's object was stored before it, where the
// claimer's listing (after its claim) finds it. A former owner waking up
// late may still store an object, but its commit fails and it purges
// nothing; any stored object is a correct state of the partition at its
// sequence (an owner applies the stream's messages in stream order), so
// loading the newest object is right whoever wrote it.
//
// A damaged newest object (it does not decode, or its checksum fails) is
// logged and the next newest is loaded instead: the stream was purged only
// up to that one's sequence at most (step 3 purges to the previous
// snapshot, and the previous one is deleted only after a newer purge). With
// one object only, nothing was purged and the stream is replayed from its
// start. If the fallback is damaged too, the partition refuses to answer
// (its reads fail with "cluster unavailable", the log says why) rather
// than answer from a state with a hole in it.

// snapTimeout bounds one snapshot: capture, upload, read back, commit,
// purge and clean-up.
const snapTimeout = time.Minute

// errLeaseLost is a snapshot commit that found the lease taken.
var errLeaseLost = errors.New("cluster: the partition's lease is held by another node")

// memory is the partition's engine; it is replaced once, when a snapshot
// is loaded.
func (part *partition) memory() *store.Memory {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.mem
}

// load installs the partition's newest readable snapshot, retrying
// transient failures (NATS unreachable, a bucket failing over) until the
// partition is given up. It reports whether the partition may consume; a
// damaged snapshot without a safe fallback marks it failed.
func (part *partition) load() bool {
	pause := minRetryPause
	for {
		err := part.loadLatest()
		if err == nil {
			return true
		}
		if errors.Is(err, errBadSnapshot) {
			part.fail(err)
			return false
		}
		part.e.log.Warn("cluster: loading a partition snapshot failed; retrying", "partition", part.p, "err", err)
		select {
		case <-time.After(pause):
		case <-part.ctx.Done():
			return false
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// loadLatest lists the partition's snapshots and installs the newest that
// decodes (see the fallback rule above), or nothing when there is none.
func (part *partition) loadLatest() error {
	ctx, cancel := context.WithTimeout(part.ctx, snapTimeout)
	defer cancel()
	seqs, err := part.listSnapshots(ctx)
	if err != nil {
		return err
	}
	part.known = seqs
	var damaged error
	for i, seq := range seqs {
		if i == 2 {
			break
		}
		data, err := part.e.snaps.GetBytes(ctx, snapName(part.p, seq))
		if err != nil && !errors.Is(err, jetstream.ErrDigestMismatch) {
			return fmt.Errorf("cluster: partition %d: read snapshot %d: %w", part.p, seq, err)
		}
		if err == nil {
			var mem *store.Memory
			var revs map[string]uint64
			var h snapHeader
			mem, revs, h, err = part.decode(data)
			if err == nil && h.seq != seq {
				err = fmt.Errorf("%w: it holds sequence %d", errBadSnapshot, h.seq)
			}
			if err == nil {
				part.install(mem, revs, h)
				part.e.log.Info("cluster: partition snapshot loaded", "partition", part.p,
					"seq", h.seq, "series", h.series, "points", h.points, "bytes", len(data))
				return nil
			}
		}
		part.e.log.Error("cluster: partition snapshot damaged", "partition", part.p, "seq", seq, "err", err)
		damaged = errors.Join(damaged, fmt.Errorf("%w: partition %d, object %s: %v", errBadSnapshot, part.p, snapName(part.p, seq), err))
	}
	if len(seqs) > 1 {
		return damaged // both the newest and its fallback are damaged
	}
	// None, or one that is damaged: nothing was purged yet.
	part.install(store.NewMemory(), make(map[string]uint64), snapHeader{})
	return nil
}

// decode builds a partition's engine from a snapshot object.
func (part *partition) decode(data []byte) (*store.Memory, map[string]uint64, snapHeader, error) {
	mem := store.NewMemory()
	revs := make(map[string]uint64)
	var id uint64
	h, err := decodeSnapshot(data, func(rev uint64, key []byte, chunks [][]byte) error {
		id++
		if err := mem.LoadSeries(id, key, chunks); err != nil {
			return fmt.Errorf("%w: %v", errBadSnapshot, err)
		}
		revs[string(key)] = rev
		return nil
	})
	if err == nil && h.partition != part.p {
		err = fmt.Errorf("%w: it holds partition %d", errBadSnapshot, h.partition)
	}
	return mem, revs, h, err
}

// install makes a loaded snapshot the partition's state, before anything
// is applied: the consumer starts after it, and a read barrier waits for
// it.
func (part *partition) install(mem *store.Memory, revs map[string]uint64, h snapHeader) {
	part.applyMu.Lock()
	defer part.applyMu.Unlock()
	part.base, part.basePoints = h.seq, int(h.points)
	part.mu.Lock()
	part.mem, part.revs, part.applied, part.loaded = mem, revs, h.seq, true
	close(part.changed)
	part.changed = make(chan struct{})
	part.mu.Unlock()
}

// listSnapshots is the sequences of the partition's snapshot objects,
// newest first.
func (part *partition) listSnapshots(ctx context.Context) ([]uint64, error) {
	infos, err := part.e.snaps.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: partition %d: list snapshots: %w", part.p, err)
	}
	var seqs []uint64
	prefix := fmt.Sprintf("p%d.", part.p)
	for _, info := range infos {
		if !strings.HasPrefix(info.Name, prefix) {
			continue
		}
		if p, seq, ok := parseSnapName(info.Name); ok && p == part.p {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	slices.Reverse(seqs)
	return seqs, nil
}

// noteApplied counts points applied since the last snapshot and wakes the
// snapshot loop past the threshold. applyMu must be held.
func (part *partition) noteApplied(points int) {
	part.since += points
	if part.since >= max(part.e.cfg.SnapshotPoints, part.basePoints/4) {
		select {
		case part.snapWanted <- struct{}{}:
		default:
		}
	}
}

// snapshotLoop takes the partition's snapshots until it is given up.
func (part *partition) snapshotLoop() {
	t := time.NewTicker(part.e.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-part.ctx.Done():
			return
		case <-part.snapWanted:
		case <-t.C:
		}
		if err := part.snapshot(); err != nil && part.ctx.Err() == nil {
			part.e.log.Warn("cluster: partition snapshot failed", "partition", part.p, "err", err)
		}
	}
}

// capture encodes the partition as of its applied sequence, holding off
// apply meanwhile (the engine's chunks are copied, not decoded, so this
// is brief). ok is false when nothing was applied since the last one.
func (part *partition) capture() (data []byte, seq uint64, points, since int, ok bool, err error) {
	part.applyMu.Lock()
	defer part.applyMu.Unlock()
	seq = part.appliedSeq()
	if part.since == 0 || seq == part.base {
		return nil, 0, 0, 0, false, nil
	}
	enc := newSnapEncoder(part.p, seq)
	err = part.memory().Snapshot(func(_ uint64, key []byte, chunks [][]byte) error {
		return enc.add(part.revision(key), key, chunks)
	})
	if err != nil {
		return nil, 0, 0, 0, false, fmt.Errorf("cluster: partition %d: snapshot: %w", part.p, err)
	}
	since, part.since = part.since, 0
	return enc.finish(), seq, int(enc.points), since, true, nil
}

// snapshot takes one snapshot and, once it is stored and committed, purges
// the stream and deletes what is no longer needed (steps 1 to 4 above).
func (part *partition) snapshot() error {
	data, seq, points, since, ok, err := part.capture()
	if err != nil || !ok {
		return err
	}
	if err := part.store(data, seq); err != nil {
		part.applyMu.Lock()
		part.since += since // owed: the next tick or threshold tries again
		part.applyMu.Unlock()
		return err
	}
	ctx, cancel := context.WithTimeout(part.ctx, snapTimeout)
	defer cancel()
	part.applyMu.Lock()
	prev := part.base
	part.base, part.basePoints = seq, points
	part.applyMu.Unlock()
	part.e.log.Debug("cluster: partition snapshot stored", "partition", part.p, "seq", seq, "points", points, "bytes", len(data))
	if prev == 0 {
		return nil
	}
	if err := part.e.stream(part.p).Purge(ctx, jetstream.WithPurgeSubject(partSubject(part.p)),
		jetstream.WithPurgeSequence(prev+1)); err != nil {
		return fmt.Errorf("cluster: partition %d: purge up to %d: %w", part.p, prev, err)
	}
	// Delete the objects older than prev that this owner knows of: those
	// listed when it loaded and its own. (An object a former owner stores
	// after the claim is left to the next owner's clean-up: listing the
	// bucket at every snapshot costs the NATS servers more than it saves.)
	keep := part.known[:0]
	for _, old := range part.known {
		if old >= prev {
			keep = append(keep, old)
			continue
		}
		if err := part.e.snaps.Delete(ctx, snapName(part.p, old)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			keep = append(keep, old)
			part.e.log.Warn("cluster: deleting an old snapshot failed", "partition", part.p, "seq", old, "err", err)
		}
	}
	part.known = keep
	return nil
}

// store uploads a snapshot, reads it back and commits it (steps 1 and 2).
func (part *partition) store(data []byte, seq uint64) error {
	ctx, cancel := context.WithTimeout(part.ctx, snapTimeout)
	defer cancel()
	name := snapName(part.p, seq)
	if _, err := part.e.snaps.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("cluster: partition %d: store snapshot %d: %w", part.p, seq, err)
	}
	part.known = append(part.known, seq)
	back, err := part.readBack(ctx, name)
	if err != nil {
		return fmt.Errorf("cluster: partition %d: read back snapshot %d: %w", part.p, seq, err)
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("%w: partition %d: snapshot %d reads back different", errBadSnapshot, part.p, seq)
	}
	return part.commit(ctx)
}

// readBack reads an object just stored. The bucket allows direct gets,
// which any replica may answer, so a replica that has not applied the
// upload yet answers "not found" for a moment: that is retried.
func (part *partition) readBack(ctx context.Context, name string) ([]byte, error) {
	pause := minRetryPause
	for {
		data, err := part.e.snaps.GetBytes(ctx, name)
		if !errors.Is(err, jetstream.ErrObjectNotFound) {
			return data, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, err
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// commit renews the partition's lease by compare-and-set, after its
// snapshot is stored: it proves this node still owned the partition then,
// which is what makes the purge that follows safe (see above).
func (part *partition) commit(ctx context.Context) error {
	rev, _ := part.lease()
	for range 3 {
		sent := time.Now()
		next, err := part.e.owners.Update(ctx, leaseKey(part.p), []byte(part.e.cfg.Node), rev)
		if err == nil {
			part.setLease(next, sent.Add(time.Duration(float64(part.e.cfg.LeaseTTL)*validFraction)))
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("cluster: partition %d: commit snapshot: %w", part.p, err)
		}
		// A renewal of this node's own may have moved the revision.
		entry, err := part.e.owners.Get(ctx, leaseKey(part.p))
		if err != nil || string(entry.Value()) != part.e.cfg.Node {
			return errLeaseLost
		}
		rev = entry.Revision()
	}
	return errLeaseLost
}
