package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/store"
)

// maxBatchBytes bounds one published message. It stays well under NATS's
// 1 MiB default payload limit, and small enough that a read barrier, which
// fetches a partition's last message, stays cheap.
const maxBatchBytes = 64 << 10

// publishAttempt bounds one publish before it is retried with the same
// message ID (JetStream drops the duplicate if the first one landed).
const publishAttempt = 2 * time.Second

// writer gathers the puts of one partition from every client of this node
// into batches, one message each, and publishes them one at a time, in
// the order they were filled: a batch is published only once the one
// before it is acknowledged (or has failed for good), and a failed publish
// is retried, with the same message ID, before the next batch goes. So the
// points of a partition land in its stream in the order they were
// submitted, retries included, and the last value submitted for a (key,
// timestamp) wins on every replica, even when one pipelining session put
// both values in two batches. While a batch is in flight the next one
// fills (group commit); it goes once the in-flight one is done and it is
// BatchDelay old.
type writer struct {
	e       *Engine
	part    int
	subject string
	kick    chan struct{} // a batch was queued

	// publishMsg publishes one message and returns once JetStream has
	// acknowledged it; tests replace it to inject failures.
	publishMsg func(ctx context.Context, msg *nats.Msg) error
	// retryPause is the pause after a failed publish, so that a leaderless
	// stream is not hammered.
	retryPause time.Duration

	mu     sync.Mutex
	queue  []*batch // oldest first; only the last one is still filling
	seq    uint64   // batches made, for message IDs
	spare  []byte   // the buffer of the last batch published, for the next
	closed bool     // the engine closed: no batch is taken any more
}

// batch is one message's worth of puts, and their ticket (a store.Waiter).
type batch struct {
	id      string
	created time.Time
	buf     []byte
	points  int
	patches []revPatch    // records whose key revision comes later
	done    chan struct{} // closed once err is set
	err     error
}

// revPatch is where a record's key revision goes in its batch, once the
// key's entry in the keys bucket is created.
type revPatch struct {
	off int
	kr  *keyRev
}

func newWriter(e *Engine, part int) *writer {
	w := &writer{e: e, part: part, subject: partSubject(part), kick: make(chan struct{}, 1), retryPause: 20 * time.Millisecond}
	w.publishMsg = func(ctx context.Context, msg *nats.Msg) error {
		_, err := e.js.PublishMsg(ctx, msg)
		return err
	}
	return w
}

// enqueue adds a point to the partition's filling batch and returns that
// batch, the put's ticket. The record carries rev, or, when kr is not nil,
// the revision kr will have: the writer waits for it before publishing.
func (w *writer) enqueue(key []byte, rev uint64, kr *keyRev, p store.Point) (*batch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errClosed
	}
	n := len(w.queue)
	if n == 0 || len(w.queue[n-1].buf)+len(key)+maxRecordOverhead > maxBatchBytes {
		w.seq++
		w.queue = append(w.queue, &batch{id: fmt.Sprintf("%s-%d-%d", w.e.boot, w.part, w.seq), created: time.Now(), buf: w.spare, done: make(chan struct{})})
		w.spare = nil
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	b := w.queue[len(w.queue)-1]
	if kr == nil {
		b.buf = appendRecord(b.buf, key, rev, p)
	} else {
		var off int
		b.buf, off = appendRecordRevLater(b.buf, key, p)
		b.patches = append(b.patches, revPatch{off: off, kr: kr})
	}
	b.points++
	return b, nil
}

// Wait implements store.Waiter: every put of a batch has its outcome.
func (b *batch) Wait(int) error {
	<-b.done
	return b.err
}

// run publishes the batches one after the other until the engine closes;
// then the batches left are failed.
func (w *writer) run() {
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	for {
		if w.e.ctx.Err() != nil {
			w.failAll()
			return
		}
		w.mu.Lock()
		var b *batch
		if len(w.queue) > 0 {
			b = w.queue[0]
		}
		w.mu.Unlock()
		if b == nil {
			select {
			case <-w.kick:
			case <-w.e.ctx.Done():
			}
			continue
		}
		if d := w.e.cfg.BatchDelay - time.Since(b.created); d > 0 {
			delay.Reset(d)
			select {
			case <-delay.C:
			case <-w.e.ctx.Done():
				delay.Stop()
				continue
			}
		}
		w.mu.Lock()
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.mu.Unlock()
		if err := w.publish(b); err != nil {
			w.e.log.Warn("puts failed", "partition", w.part, "points", b.points, "err", err)
			b.err = ErrUnavailable
		}
		// Nothing reads a published batch's buffer again (the tickets
		// only wait for done): the next batch fills it.
		w.mu.Lock()
		w.spare, b.buf, b.patches = b.buf[:0], nil, nil
		w.mu.Unlock()
		close(b.done)
	}
}

// publish fills in b's pending key revisions, then publishes b until
// JetStream acknowledges it, retrying with the same message ID until
// OpTimeout after the batch was started.
func (w *writer) publish(b *batch) error {
	ctx, cancel := context.WithDeadline(w.e.ctx, b.created.Add(w.e.cfg.OpTimeout))
	defer cancel()
	for _, pt := range b.patches {
		select {
		case <-pt.kr.done:
		case <-ctx.Done():
			return fmt.Errorf("cluster: partition %d: waiting for a key's order entry: %w", w.part, context.Cause(ctx))
		}
		if pt.kr.err != nil {
			return fmt.Errorf("cluster: partition %d: %w", w.part, pt.kr.err)
		}
		putRevision(b.buf[pt.off:], pt.kr.rev)
	}
	msg := &nats.Msg{Subject: w.subject, Data: b.buf, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, b.id)
	var last error
	for ctx.Err() == nil {
		actx, acancel := context.WithTimeout(ctx, publishAttempt)
		err := w.publishMsg(actx, msg)
		acancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-time.After(w.retryPause):
		case <-ctx.Done():
		}
	}
	return fmt.Errorf("cluster: publish to partition %d: %w (last attempt: %v)", w.part, context.Cause(ctx), last)
}

// failAll fails every batch not yet published, at shutdown, and refuses
// new ones.
func (w *writer) failAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, b := range w.queue {
		b.err = ErrUnavailable
		close(b.done)
	}
	w.queue = nil
}
