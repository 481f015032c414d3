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

// maxInFlight bounds the batches of one partition awaiting their acks.
const maxInFlight = 4

// publishAttempt bounds one publish before it is retried with the same
// message ID (JetStream drops the duplicate if the first one landed).
const publishAttempt = 2 * time.Second

// writer gathers the puts of one partition from every client of this node
// and publishes them as one message per BatchDelay (group commit), with up
// to maxInFlight batches awaiting their acks at once. Batches in flight
// together may land in either order (a retried one after a later one):
// that only orders puts that were in flight together, which no client can
// have ordered, since a session waits for a put's ok before its next
// request. Stream order is the order every replica applies. A pipelined
// Submit would break that argument (one session's puts in two batches in
// flight): it must come with maxInFlight = 1, or with retries that keep
// the batches' order.
type writer struct {
	e        *Engine
	part     int
	subject  string
	kick     chan struct{} // a batch has started filling
	inFlight chan struct{} // one token per batch being published

	mu    sync.Mutex
	ready []*batch // full batches waiting for the publisher, in order
	cur   *batch   // the batch being filled, or nil
	seq   uint64   // batches made, for message IDs
}

// batch is one message's worth of puts.
type batch struct {
	id   string
	buf  []byte
	done chan struct{} // closed once err is set
	err  error
}

func newWriter(e *Engine, part int) *writer {
	return &writer{e: e, part: part, subject: partSubject(part), kick: make(chan struct{}, 1), inFlight: make(chan struct{}, maxInFlight)}
}

// put adds a point to the partition's current batch and waits until that
// batch is acknowledged by JetStream or ctx ends.
func (w *writer) put(ctx context.Context, key []byte, rev uint64, p store.Point) error {
	return w.enqueue(key, rev, p).wait(ctx, w.part)
}

// enqueue adds a point to the partition's current batch and returns the
// batch, whose done closes once JetStream has acknowledged it or it failed.
// It does not wait: it is what a pipelined Submit will call (the batch is
// the put's ticket), with put's wait as the ticket's Wait.
func (w *writer) enqueue(key []byte, rev uint64, p store.Point) *batch {
	w.mu.Lock()
	if w.cur != nil && len(w.cur.buf)+len(key)+32 > maxBatchBytes {
		w.ready = append(w.ready, w.cur)
		w.cur = nil
	}
	if w.cur == nil {
		w.seq++
		w.cur = &batch{id: fmt.Sprintf("%s-%d-%d", w.e.boot, w.part, w.seq), done: make(chan struct{})}
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	b := w.cur
	b.buf = appendRecord(b.buf, key, rev, p)
	w.mu.Unlock()
	return b
}

// wait waits for b's outcome or for ctx to end.
func (b *batch) wait(ctx context.Context, part int) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("cluster: partition %d: waiting for the ack: %w", part, context.Cause(ctx))
	}
}

// run publishes batches until the engine closes; then the batches left are
// failed.
func (w *writer) run() {
	delay := time.NewTimer(0)
	<-delay.C
	for {
		select {
		case <-w.kick:
		case <-w.e.ctx.Done():
			w.failAll()
			return
		}
		delay.Reset(w.e.cfg.BatchDelay)
		select {
		case <-delay.C:
		case <-w.e.ctx.Done():
			w.failAll()
			return
		}
		w.mu.Lock()
		todo := w.ready
		if w.cur != nil {
			todo = append(todo, w.cur)
		}
		w.ready, w.cur = nil, nil
		w.mu.Unlock()
		for _, b := range todo {
			select {
			case w.inFlight <- struct{}{}:
			case <-w.e.ctx.Done():
				b.err = fmt.Errorf("cluster: partition %d: node shutting down", w.part)
				close(b.done)
				continue
			}
			w.e.wg.Add(1)
			go func() {
				defer w.e.wg.Done()
				b.err = w.publish(b)
				close(b.done)
				<-w.inFlight
			}()
		}
	}
}

// publish publishes b until JetStream acknowledges it, retrying with the
// same message ID within OpTimeout.
func (w *writer) publish(b *batch) error {
	ctx, cancel := context.WithTimeout(w.e.ctx, w.e.cfg.OpTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: w.subject, Data: b.buf, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, b.id)
	var last error
	for ctx.Err() == nil {
		actx, acancel := context.WithTimeout(ctx, publishAttempt)
		_, err := w.e.js.PublishMsg(actx, msg)
		acancel()
		if err == nil {
			return nil
		}
		last = err
		select { // a short pause, so a leaderless stream is not hammered
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return fmt.Errorf("cluster: publish to partition %d: %w (last attempt: %v)", w.part, context.Cause(ctx), last)
}

// failAll fails every batch not yet published, at shutdown.
func (w *writer) failAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	todo := w.ready
	if w.cur != nil {
		todo = append(todo, w.cur)
	}
	w.ready, w.cur = nil, nil
	for _, b := range todo {
		b.err = fmt.Errorf("cluster: partition %d: node shutting down", w.part)
		close(b.done)
	}
}
