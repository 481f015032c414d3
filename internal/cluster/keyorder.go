package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keyCreatesInFlight bounds the key-order creates published and not yet
// acknowledged; past it, a Submit of a new key waits (back pressure).
const keyCreatesInFlight = 1024

// keyRev is the revision of a key whose entry in the keys bucket is being
// created: a put of the key is queued in its partition's batch at once,
// and its partition's writer waits for done before publishing the batch,
// so the entry exists before any point of the key is in a stream.
type keyRev struct {
	key     []byte // a copy
	created time.Time
	done    chan struct{} // closed once rev or err is set
	rev     uint64
	err     error
}

// pendingCreate is a key-order create published and awaiting its ack.
type pendingCreate struct {
	kr  *keyRev
	ack jetstream.PubAckFuture
}

// keyRevision returns key's cached revision, or else the pending creation
// of its entry, started if this is the key's first put on this node. The
// cached path is a map lookup under a read lock and does not allocate.
func (e *Engine) keyRevision(key []byte) (uint64, *keyRev, error) {
	e.revMu.RLock()
	rev, ok := e.revs[string(key)]
	e.revMu.RUnlock()
	if ok {
		return rev, nil, nil
	}
	// createMu orders the new keys: a key found pending here was sent
	// to e.creates by whoever holds createMu while sending it, so the
	// creates are published in the order the keys were first submitted,
	// even when another client's first put of the same key came first.
	e.createMu.Lock()
	defer e.createMu.Unlock()
	e.revMu.Lock()
	if rev, ok := e.revs[string(key)]; ok {
		e.revMu.Unlock()
		return rev, nil, nil
	}
	if kr := e.creating[string(key)]; kr != nil {
		e.revMu.Unlock()
		return 0, kr, nil
	}
	kr := &keyRev{key: bytes.Clone(key), created: time.Now(), done: make(chan struct{})}
	e.creating[string(kr.key)] = kr
	e.revMu.Unlock()
	// The creates are published in the order of this channel, so one
	// client's new keys get revisions in the order it put them (the
	// protocol's first-insertion order), without a round trip each.
	// Sending without revMu held: publishCreates takes it to resolve.
	select {
	case e.creates <- kr:
		return 0, kr, nil
	case <-e.ctx.Done():
		e.resolveKey(kr, 0, errClosed)
		return 0, nil, ErrUnavailable
	}
}

// resolveKey records the outcome of kr's creation: the revision is cached,
// or, on an error, forgotten so that the key's next put tries again.
func (e *Engine) resolveKey(kr *keyRev, rev uint64, err error) {
	e.revMu.Lock()
	delete(e.creating, string(kr.key))
	if err == nil {
		e.revs[string(kr.key)] = rev
	}
	e.revMu.Unlock()
	kr.rev, kr.err = rev, err
	close(kr.done)
}

// publishCreates publishes the keys bucket entries of new keys, one after
// the other without waiting for their acks (KV Create is a publish that
// expects no earlier message on the key's subject), and hands each to
// ackCreates. It runs until the engine closes.
func (e *Engine) publishCreates(acks chan<- pendingCreate) {
	defer close(acks)
	for {
		var kr *keyRev
		select {
		case kr = <-e.creates:
		case <-e.ctx.Done():
			return
		}
		name, _ := kvKey(kr.key)
		msg := &nats.Msg{Subject: "$KV." + keysBucket + "." + name, Data: kr.key, Header: nats.Header{}}
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
		ack, err := e.js.PublishMsgAsync(msg)
		if err != nil {
			e.resolveKey(kr, 0, fmt.Errorf("cluster: key order entry: %w", err))
			continue
		}
		select {
		case acks <- pendingCreate{kr: kr, ack: ack}:
		case <-e.ctx.Done():
			e.resolveKey(kr, 0, errClosed)
			return
		}
	}
}

// ackCreates resolves the published creates as their acks arrive. A key
// that exists already (created by another node, or before this node
// started) is read instead, off this goroutine, since it needs a round
// trip of its own.
func (e *Engine) ackCreates(acks <-chan pendingCreate) {
	for pc := range acks {
		select {
		case pa := <-pc.ack.Ok():
			e.resolveKey(pc.kr, pa.Sequence, nil)
		case err := <-pc.ack.Err():
			if !isWrongLastSequence(err) {
				e.resolveKey(pc.kr, 0, fmt.Errorf("cluster: key order entry: %w", err))
				continue
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				ctx, cancel := context.WithDeadline(e.ctx, pc.kr.created.Add(e.cfg.OpTimeout))
				defer cancel()
				rev, err := e.revision(ctx, pc.kr.key, true)
				e.resolveKey(pc.kr, rev, err)
			}()
		case <-e.ctx.Done():
			e.resolveKey(pc.kr, 0, errClosed)
		}
	}
}

// isWrongLastSequence reports whether a publish was refused because its
// subject already has a message: the key's entry exists. JetStream answers
// 10071, or 10164 from a replicated stream.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// revision returns key's first-insertion revision with a round trip per
// step: it reads the key's entry (first, when exists says it is there), or
// creates it when it is not there.
func (e *Engine) revision(ctx context.Context, key []byte, exists bool) (uint64, error) {
	name, hashed := kvKey(key)
	for {
		if !exists {
			rev, err := e.keys.Create(ctx, name, key)
			if err == nil {
				return rev, nil
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, fmt.Errorf("cluster: key order entry: %w", err)
			}
		}
		exists = false
		entry, err := e.keys.Get(ctx, name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted in between: create again
		}
		if err != nil {
			return 0, fmt.Errorf("cluster: key order entry: %w", err)
		}
		if hashed && !bytes.Equal(entry.Value(), key) {
			return 0, fmt.Errorf("cluster: SHA-256 collision between two keys (entry %s)", strconv.Quote(name))
		}
		return entry.Revision(), nil
	}
}
