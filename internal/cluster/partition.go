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

	mem *store.Memory

	mu        sync.Mutex
	revs      map[string]uint64 // key → first-insertion revision
	applied   uint64            // stream sequence of the last message applied
	changed   chan struct{}     // closed and replaced at every apply
	leaseRev  uint64
	leaseTill time.Time // the lease is trusted until then (monotonic)
	failed    error     // a message that could not be applied

	cc jetstream.ConsumeContext
}

func newPartition(e *Engine, p int) *partition {
	return &partition{e: e, p: p, mem: store.NewMemory(), revs: make(map[string]uint64), changed: make(chan struct{})}
}

// setLease records a successful claim or renewal.
func (part *partition) setLease(rev uint64, till time.Time) {
	part.mu.Lock()
	part.leaseRev, part.leaseTill = rev, till
	part.mu.Unlock()
}

// lease is the lease's revision and whether it is still trusted now.
func (part *partition) lease() (rev uint64, valid bool) {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.leaseRev, time.Now().Before(part.leaseTill)
}

// start replays the partition's subject from the start of its stream and
// keeps applying new messages (an ordered consumer: in stream order, no
// acks, recreated by the client on a gap).
func (part *partition) start() error {
	ctx, cancel := context.WithTimeout(part.e.ctx, setupTimeout)
	defer cancel()
	cons, err := part.e.js.OrderedConsumer(ctx, part.e.stream(part.p).CachedInfo().Config.Name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{partSubject(part.p)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("cluster: consumer for partition %d: %w", part.p, err)
	}
	cc, err := cons.Consume(part.apply)
	if err != nil {
		return fmt.Errorf("cluster: consume partition %d: %w", part.p, err)
	}
	part.cc = cc
	return nil
}

// stop stops consuming; the partition's memory goes with it.
func (part *partition) stop() {
	if part.cc != nil {
		part.cc.Stop()
	}
}

// apply stores one message's points. Stream order is the same on every
// replica, so last-write-wins per (key, timestamp) gives the same result
// wherever the partition is replayed.
func (part *partition) apply(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		part.fail(fmt.Errorf("cluster: partition %d: message metadata: %w", part.p, err))
		return
	}
	err = decodeBatch(msg.Data(), func(key []byte, rev uint64, p store.Point) error {
		part.mu.Lock()
		if _, ok := part.revs[string(key)]; !ok {
			part.revs[string(key)] = rev
		}
		part.mu.Unlock()
		return part.mem.Put(key, p)
	})
	if err != nil {
		part.fail(fmt.Errorf("cluster: partition %d: apply message %d: %w", part.p, meta.Sequence.Stream, err))
		return
	}
	part.mu.Lock()
	part.applied = meta.Sequence.Stream
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
	msg, err := part.e.stream(part.p).GetLastMsgForSubject(ctx, partSubject(part.p))
	var last uint64
	switch {
	case err == nil:
		last = msg.Sequence
	case errors.Is(err, jetstream.ErrMsgNotFound):
	default:
		return fmt.Errorf("cluster: partition %d: last sequence: %w", part.p, err)
	}
	for {
		part.mu.Lock()
		applied, changed, failed := part.applied, part.changed, part.failed
		part.mu.Unlock()
		if failed != nil {
			return failed
		}
		if applied >= last {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("cluster: partition %d: applied %d, waiting for %d: %w", part.p, applied, last, ctx.Err())
		}
	}
}

// revision is key's first-insertion revision as applied here.
func (part *partition) revision(key []byte) uint64 {
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.revs[string(key)]
}
