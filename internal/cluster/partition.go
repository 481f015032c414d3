package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/store"
)

// partition is a partition this node owns: its points, applied from the
// stream in stream order into a store.Memory, and how far it has applied.
type partition struct {
	e *Engine
	p int

	// applyMu serialises apply: the consumer and a read barrier's catch-up
	// both apply messages, and each must see the other's sequence. A
	// snapshot's capture holds it too, so that it is exact.
	applyMu    sync.Mutex
	base       uint64   // sequence of the snapshot loaded or last stored (0: none)
	basePoints int      // points in that snapshot
	since      int      // points applied since it
	known      []uint64 // sequences of this partition's objects known to exist (the snapshot loop's)

	snapWanted chan struct{} // the snapshot loop is owed a snapshot

	mu        sync.Mutex
	mem       *store.Memory     // replaced once, by the snapshot loaded
	loaded    bool              // the snapshot (or its absence) is installed
	revs      map[string]uint64 // key → first-insertion revision
	applied   uint64            // stream sequence of the last message applied
	changed   chan struct{}     // closed and replaced at every apply
	leaseRev  uint64
	leaseTill time.Time // the lease is trusted until then (monotonic)
	failed    error     // a message that could not be applied

	stalled chan struct{}   // a barrier saw no progress: recreate the consumer
	ctx     context.Context // ends when the partition is given up
	cancel  context.CancelFunc
}

func newPartition(e *Engine, p int) *partition {
	part := &partition{e: e, p: p, mem: store.NewMemory(), revs: make(map[string]uint64), changed: make(chan struct{}), stalled: make(chan struct{}, 1), snapWanted: make(chan struct{}, 1)}
	part.ctx, part.cancel = context.WithCancel(e.ctx)
	return part
}

// setLease records a successful claim or renewal.
func (part *partition) setLease(rev uint64, till time.Time) {
	part.mu.Lock()
	part.leaseRev, part.leaseTill = rev, till
	part.mu.Unlock()
}

// adoptRevision records the lease's current revision without extending
// its validity.
func (part *partition) adoptRevision(rev uint64) {
	part.mu.Lock()
	part.leaseRev = rev
	part.mu.Unlock()
}

// lease is the lease's revision and whether it is still trusted now.
func (part *partition) lease() (rev uint64, valid bool) {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.leaseRev, time.Now().Before(part.leaseTill)
}

// start loads the partition's latest snapshot, replays its subject from
// the snapshot's sequence + 1 and keeps applying new messages and taking
// snapshots, in goroutines of its own until stop.
func (part *partition) start() error {
	part.e.wg.Add(1)
	go func() {
		defer part.e.wg.Done()
		part.run()
	}()
	return nil
}

// stop stops consuming; the partition's memory goes with it.
func (part *partition) stop() { part.cancel() }

// How a partition's consumer pulls and recovers (see consume).
const (
	consumeHeartbeat = 500 * time.Millisecond
	consumeExpiry    = 2 * time.Second
	minRetryPause    = 20 * time.Millisecond
	maxRetryPause    = 500 * time.Millisecond
	// stallTimeout is how long a read barrier waits without the partition
	// applying anything before it has the consumer recreated.
	stallTimeout = time.Second
)

// errGap is a consumer delivery out of sequence: the consumer is recreated
// from the last message applied.
var errGap = errors.New("cluster: consumer delivery out of sequence")

// run consumes until stop, recreating the consumer after any failure (its
// NATS server died, a stream leader moved, a gap) from the message after
// the last one applied. The nats.go ordered consumer does the same with a
// backoff of 1 s doubling to 10 s, which left reads waiting past 15 s when
// a stream leader was killed; here the pause is 20 to 500 ms.
func (part *partition) run() {
	if !part.load() {
		return
	}
	part.e.wg.Add(1)
	go func() {
		defer part.e.wg.Done()
		part.snapshotLoop()
	}()
	pause := minRetryPause
	for part.ctx.Err() == nil {
		before := part.appliedSeq()
		err := part.consume()
		if part.ctx.Err() != nil {
			return
		}
		part.e.log.Debug("cluster: partition consumer restarts", "partition", part.p, "err", err)
		if part.appliedSeq() > before {
			pause = minRetryPause
		}
		select {
		case <-time.After(pause):
		case <-part.ctx.Done():
			return
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// consume creates an ephemeral consumer of the partition's subject from the
// message after the last one applied, and applies what it delivers (in
// stream order, no acks) until it fails.
func (part *partition) consume() error {
	ctx, cancel := context.WithTimeout(part.ctx, consumeExpiry*2)
	cons, err := part.e.js.CreateConsumer(ctx, part.e.streamName(part.p), jetstream.ConsumerConfig{
		FilterSubject:     partSubject(part.p),
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       part.appliedSeq() + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: partition %d: create consumer: %w", part.p, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(part.e.ctx, consumeExpiry)
		part.e.js.DeleteConsumer(ctx, part.e.streamName(part.p), cons.CachedInfo().Name)
		cancel()
	}()
	it, err := cons.Messages(jetstream.PullExpiry(consumeExpiry), jetstream.PullHeartbeat(consumeHeartbeat),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return fmt.Errorf("cluster: partition %d: pull: %w", part.p, err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-part.ctx.Done():
		case <-part.stalled:
			part.e.log.Debug("cluster: partition consumer stalled behind a read barrier; recreating it", "partition", part.p)
		case <-stopped:
		}
		it.Stop()
	}()
	for want := uint64(1); ; want++ {
		msg, err := it.Next()
		if err != nil {
			return fmt.Errorf("cluster: partition %d: next message: %w", part.p, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: partition %d: message metadata: %w", part.p, err)
		}
		if meta.Sequence.Consumer != want {
			return errGap
		}
		part.apply(meta.Sequence.Stream, msg.Data())
	}
}

func (part *partition) appliedSeq() uint64 {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.applied
}

// apply stores one message's points. Stream order is the same on every
// replica, so last-write-wins per (key, timestamp) gives the same result
// wherever the partition is replayed. A message at or below the applied
// sequence (a recreated consumer's overlap) is skipped.
func (part *partition) apply(seq uint64, data []byte) {
	part.applyMu.Lock()
	defer part.applyMu.Unlock()
	if seq <= part.appliedSeq() {
		return
	}
	mem, points := part.memory(), 0
	err := decodeBatch(data, func(key []byte, rev uint64, p store.Point) error {
		part.mu.Lock()
		if _, ok := part.revs[string(key)]; !ok {
			part.revs[string(key)] = rev
		}
		part.mu.Unlock()
		points++
		return mem.Put(key, p)
	})
	if err != nil {
		part.fail(fmt.Errorf("cluster: partition %d: apply message %d: %w", part.p, seq, err))
		return
	}
	part.noteApplied(points)
	part.mu.Lock()
	part.applied = seq
	close(part.changed)
	part.changed = make(chan struct{})
	part.mu.Unlock()
}

// fail marks the partition unable to answer: a message it cannot apply
// would make every later answer wrong.
func (part *partition) fail(err error) {
	part.e.log.Error("cluster: partition stopped", "partition", part.p, "err", err)
	part.mu.Lock()
	if part.failed == nil {
		part.failed = err
	}
	close(part.changed)
	part.changed = make(chan struct{})
	part.mu.Unlock()
}

// barrier waits until the partition has applied everything its stream held
// for it when barrier was called: the sequence of the subject's last
// message, asked of the stream leader. So a get that starts after a put's
// ok sees that put, whichever node took it.
func (part *partition) barrier(ctx context.Context) error {
	last, err := part.lastSequence(ctx)
	if err != nil {
		return err
	}
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for {
		part.mu.Lock()
		applied, changed, failed, loaded := part.applied, part.changed, part.failed, part.loaded
		part.mu.Unlock()
		if failed != nil {
			return failed
		}
		if !loaded {
			// Until its snapshot is installed the partition has applied
			// nothing, whatever the stream's last sequence (a purged
			// subject may have no message left at all).
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return fmt.Errorf("cluster: partition %d: loading its snapshot: %w", part.p, ctx.Err())
			}
		}
		if applied >= last {
			return nil
		}
		select {
		case <-changed:
		case <-stall.C:
			// The consumer is not keeping up: it can be left alive but
			// not delivering by a NATS server failing over, and
			// recreating it can fail for a while (nats-server 2.9
			// may place the new consumer on the server that is down).
			// So the barrier fetches the missing messages itself from
			// the stream leader, and has the consumer recreated.
			select {
			case part.stalled <- struct{}{}:
			default:
			}
			if err := part.catchUp(ctx, last); err != nil {
				part.e.log.Debug("cluster: read barrier catch-up", "partition", part.p, "err", err)
			}
			stall.Reset(stallTimeout)
		case <-ctx.Done():
			return fmt.Errorf("cluster: partition %d: applied %d, waiting for %d: %w", part.p, applied, last, ctx.Err())
		}
	}
}

// lastSequence asks the stream leader for the stream sequence of the
// partition's last message (0: none yet). Each attempt is bounded by
// barrierAttempt and retried until ctx ends: while a stream elects a new
// leader its API does not answer, and a request left waiting would outlast
// the election.
func (part *partition) lastSequence(ctx context.Context) (uint64, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, barrierAttempt)
		msg, err := part.e.stream(part.p).GetLastMsgForSubject(actx, partSubject(part.p))
		cancel()
		switch {
		case err == nil:
			return msg.Sequence, nil
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return 0, nil
		}
		select {
		case <-time.After(minRetryPause):
		case <-ctx.Done():
			return 0, fmt.Errorf("cluster: partition %d: last sequence: %w (last attempt: %v)", part.p, ctx.Err(), err)
		}
	}
}

// catchUp applies the partition's messages after the applied one, fetched
// one by one from the stream leader (the next message of the partition's
// subject), until it has applied last.
func (part *partition) catchUp(ctx context.Context, last uint64) error {
	for {
		applied := part.appliedSeq()
		if applied >= last {
			return nil
		}
		actx, cancel := context.WithTimeout(ctx, barrierAttempt)
		msg, err := part.e.stream(part.p).GetMsg(actx, applied+1, jetstream.WithGetMsgSubject(partSubject(part.p)))
		cancel()
		if err != nil {
			return fmt.Errorf("cluster: partition %d: fetch after %d: %w", part.p, applied, err)
		}
		part.apply(msg.Sequence, msg.Data)
	}
}

// barrierAttempt bounds one request for a partition's last sequence.
const barrierAttempt = time.Second

// revision is key's first-insertion revision as applied here.
func (part *partition) revision(key []byte) uint64 {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.revs[string(key)]
}
