package cluster

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"metricsd/internal/store"
)

// Reads. A read is a series of requests to the owner of a partition, on
// the owner's subject metricsd.node.<node>.get, each answered by one
// message: a chunk of at most Config.ReadChunk bytes of series records in
// the partition's (revision, key) order, and a cursor that the next
// request sends back, so that the owner keeps nothing between requests
// and a request retried on another owner (the partition moved) resumes
// exactly after the last point received:
//
//	request: kind ('k' one key, 'a' all series, 'n' all keys without
//	         points) uvarint(partition) flags (1: take the read barrier,
//	         2: a cursor follows) uvarint(minSeq) [key] [cursor:
//	         uvarint(rev) uvarint(len(key)) key varint(timestamp)]
//	answer:  header Metricsd-Status (ok, not-owner, error); with ok,
//	         uvarint(seq) flags (1: nothing follows, 2: a cursor
//	         follows) [cursor] and a run of appendSeries records.
//
// The first request of a read takes the partition's read barrier and the
// answer names the sequence the owner applied (seq); every later request
// carries it as minSeq, and an owner answers only once it has applied that
// far: the barrier is taken once per partition and still holds after the
// partition moves. An owner answers only while its lease is valid
// (fencing); anything else makes the asking node look the owner up again
// and retry until OpTimeout.

const (
	statusHeader   = "Metricsd-Status"
	statusOK       = "ok"
	statusNotOwner = "not-owner"
	statusError    = "error"

	kindKey  = 'k'
	kindAll  = 'a'
	kindKeys = 'n'

	reqBarrier = 1
	reqCursor  = 2

	answerEnd    = 1
	answerCursor = 2
)

// attemptTimeout bounds one request to an owner before the asking node
// looks up the owner again: a node that died or was paused never answers.
const attemptTimeout = 3 * time.Second

// errNotOwner is an owner's refusal: the partition moved or its lease is
// not trusted at the moment.
var errNotOwner = errors.New("cluster: asked node does not own the partition")

// cursor is where a partition's answer stopped: after the point at ts of
// the series (rev, key), or, listing keys, after the key.
type cursor struct {
	rev uint64
	key []byte
	ts  int64
}

// readRequest is one request of a read of partition p.
type readRequest struct {
	kind    byte
	p       int
	barrier bool   // take the read barrier (no answer received yet)
	minSeq  uint64 // else: answer once applied this far
	key     []byte // kindKey: the key
	started bool   // cur is set: resume after it
	cur     cursor
}

func appendRequest(b []byte, r *readRequest) []byte {
	var flags byte
	if r.barrier {
		flags |= reqBarrier
	}
	if r.started {
		flags |= reqCursor
	}
	b = append(b, r.kind)
	b = binary.AppendUvarint(b, uint64(r.p))
	b = append(b, flags)
	b = binary.AppendUvarint(b, r.minSeq)
	if r.kind == kindKey {
		b = binary.AppendUvarint(b, uint64(len(r.key)))
		b = append(b, r.key...)
	}
	if r.started {
		b = appendCursor(b, &r.cur)
	}
	return b
}

func appendCursor(b []byte, c *cursor) []byte {
	b = binary.AppendUvarint(b, c.rev)
	b = binary.AppendUvarint(b, uint64(len(c.key)))
	b = append(b, c.key...)
	return binary.AppendVarint(b, c.ts)
}

// decodeRequest decodes a request; its keys are views into b.
func decodeRequest(b []byte) (r readRequest, ok bool) {
	if len(b) < 3 {
		return r, false
	}
	r.kind = b[0]
	if r.kind != kindKey && r.kind != kindAll && r.kind != kindKeys {
		return r, false
	}
	p, n := binary.Uvarint(b[1:])
	if n <= 0 || p >= MaxPartitions {
		return r, false
	}
	r.p = int(p)
	b = b[1+n:]
	if len(b) < 1 || b[0]&^(reqBarrier|reqCursor) != 0 {
		return r, false
	}
	r.barrier, r.started = b[0]&reqBarrier != 0, b[0]&reqCursor != 0
	if r.minSeq, n = binary.Uvarint(b[1:]); n <= 0 {
		return r, false
	}
	b = b[1+n:]
	if r.kind == kindKey {
		if r.key, b, ok = takeBytes(b); !ok {
			return r, false
		}
	}
	if r.started {
		if r.cur, b, ok = takeCursor(b); !ok {
			return r, false
		}
	}
	return r, len(b) == 0
}

func takeCursor(b []byte) (c cursor, rest []byte, ok bool) {
	rev, n := binary.Uvarint(b)
	if n <= 0 {
		return c, nil, false
	}
	key, rest, ok := takeBytes(b[n:])
	if !ok {
		return c, nil, false
	}
	ts, n := binary.Varint(rest)
	if n <= 0 {
		return c, nil, false
	}
	return cursor{rev: rev, key: key, ts: ts}, rest[n:], true
}

// appendAnswerHead appends an ok answer's head: the sequence the owner has
// applied, whether the partition's answer is complete, and the cursor of
// its last record, if it has one.
func appendAnswerHead(b []byte, seq uint64, end bool, last *cursor) []byte {
	b = binary.AppendUvarint(b, seq)
	var flags byte
	if end {
		flags |= answerEnd
	}
	if last != nil {
		flags |= answerCursor
	}
	b = append(b, flags)
	if last != nil {
		b = appendCursor(b, last)
	}
	return b
}

// answer is an ok answer decoded; records and the cursor's key are views
// into the message.
type answer struct {
	seq     uint64
	end     bool
	hasLast bool
	last    cursor
	records []byte
}

func decodeAnswer(b []byte) (a answer, err error) {
	seq, n := binary.Uvarint(b)
	if n <= 0 || len(b) <= n || b[n]&^(answerEnd|answerCursor) != 0 {
		return a, errCorrupt
	}
	a.seq, a.end, a.hasLast = seq, b[n]&answerEnd != 0, b[n]&answerCursor != 0
	b = b[n+1:]
	if a.hasLast {
		var ok bool
		if a.last, b, ok = takeCursor(b); !ok {
			return a, errCorrupt
		}
	}
	a.records = b
	return a, nil
}

// indexEntry is a key of a partition and its first-insertion revision.
type indexEntry struct {
	rev uint64
	key string
}

func cmpIndexEntry(a, b indexEntry) int {
	if c := cmp.Compare(a.rev, b.rev); c != 0 {
		return c
	}
	return cmp.Compare(a.key, b.key)
}

// serveRequest answers a read for a partition this node owns. Each request
// gets its own goroutine: a barrier may wait, and must not hold up the
// subscription's other requests.
func (e *Engine) serveRequest(msg *nats.Msg) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.answer(msg)
	}()
}

// errChunkFull stops the visit that fills a chunk.
var errChunkFull = errors.New("cluster: answer chunk full")

func (e *Engine) answer(msg *nats.Msg) {
	r, ok := decodeRequest(msg.Data)
	if !ok || msg.Reply == "" || r.p >= e.layout.Partitions {
		e.log.Warn("cluster: malformed read request ignored", "subject", msg.Subject)
		return
	}
	part := e.lease.partition(r.p)
	if part == nil {
		e.reply(msg.Reply, statusNotOwner, nil)
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OpTimeout)
	defer cancel()
	seq := r.minSeq
	if r.barrier {
		var err error
		if seq, err = part.barrierSequence(ctx); err != nil {
			e.log.Warn("cluster: read barrier failed", "partition", r.p, "err", err)
			e.reply(msg.Reply, statusError, nil)
			return
		}
	}
	if err := part.waitApplied(ctx, seq); err != nil {
		e.log.Warn("cluster: read barrier failed", "partition", r.p, "err", err)
		e.reply(msg.Reply, statusError, nil)
		return
	}
	records, last, end, err := part.fill(&r, e.cfg.ReadChunk)
	if err != nil {
		e.log.Warn("cluster: answering a read failed", "partition", r.p, "err", err)
		e.reply(msg.Reply, statusError, nil)
		return
	}
	// Fencing: a node paused past its lease may have lost the partition
	// while it waited or read; then it must not answer from what it holds.
	if _, valid := part.lease(); !valid || e.lease.partition(r.p) != part {
		e.reply(msg.Reply, statusNotOwner, nil)
		return
	}
	head := appendAnswerHead(make([]byte, 0, 32+len(records)+len(last.key)), seq, end, last.ptr())
	e.reply(msg.Reply, statusOK, append(head, records...))
}

// filled is the cursor of a chunk's last record, if it has one.
type filled struct {
	cursor
	set bool
}

func (f *filled) ptr() *cursor {
	if !f.set {
		return nil
	}
	return &f.cursor
}

// fill builds the chunk that answers r: the records after r's cursor, in
// (revision, key) order, each an encoded chunk of the owner's engine sent
// as it is (no decoding here), until about limit bytes; a chunk holds at
// least one record, which bounds it by limit and one encoded chunk.
func (part *partition) fill(r *readRequest, limit int) (records []byte, last filled, end bool, err error) {
	records = make([]byte, 0, limit)
	fits := func(key, chunk []byte) bool {
		return len(records) == 0 || len(records)+len(key)+len(chunk)+recordOverhead <= limit
	}
	var rev uint64
	mem := part.memory() // a snapshot's load replaces it, under part.mu
	visit := func(k, chunk []byte, lastTS int64) error {
		if !fits(k, chunk) {
			return errChunkFull
		}
		records = appendEncoded(records, rev, k, chunk)
		last = filled{cursor{rev: rev, key: append(last.key[:0], k...), ts: lastTS}, true}
		return nil
	}
	// series adds key's chunks, from the first or those after the
	// cursor's timestamp, and reports whether the answer is full.
	series := func(k []byte, first bool, after int64) (full bool, err error) {
		err = mem.Encoded(k, after, first, visit)
		if errors.Is(err, errChunkFull) {
			return true, nil
		}
		return false, err
	}
	if r.kind == kindKey {
		rev = part.revision(r.key)
		full, err := series(r.key, !r.started, r.cur.ts)
		return records, last, !full, err
	}
	index := part.index()
	i := 0
	if r.started {
		at := indexEntry{rev: r.cur.rev, key: string(r.cur.key)}
		var found bool
		i, found = slices.BinarySearchFunc(index, at, cmpIndexEntry)
		if found {
			if r.kind == kindAll {
				rev = at.rev
				if full, err := series(r.cur.key, false, r.cur.ts); full || err != nil {
					return records, last, false, err
				}
			}
			i++
		}
	}
	for ; i < len(index); i++ {
		kr := index[i]
		k := []byte(kr.key)
		if r.kind == kindKeys {
			if !fits(k, nil) {
				return records, last, false, nil
			}
			records = appendEncoded(records, kr.rev, k, nil)
			last = filled{cursor{rev: kr.rev, key: k}, true}
			continue
		}
		rev = kr.rev
		if full, err := series(k, true, 0); full || err != nil {
			return records, last, false, err
		}
	}
	return records, last, true, nil
}

// reply sends the one message that answers a request.
func (e *Engine) reply(inbox, status string, data []byte) {
	m := &nats.Msg{Subject: inbox, Data: data, Header: nats.Header{}}
	m.Header.Set(statusHeader, status)
	if err := e.nc.PublishMsg(m); err != nil {
		// The asking node times out and asks again.
		e.log.Debug("cluster: send answer", "err", err)
	}
}

// fetch asks partition r.p's owner for the chunk after r's cursor,
// retrying (a moved or dead owner, a barrier not yet reached) for up to
// OpTimeout, and advances r past the chunk: its cursor, and the barrier's
// sequence for the requests that follow.
func (e *Engine) fetch(ctx context.Context, r *readRequest) (chunk, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.OpTimeout)
	defer cancel()
	req := appendRequest(nil, r)
	pause := 10 * time.Millisecond
	var last error = errNotOwner
	for {
		if owner := e.lease.ownerOf(r.p); owner != "" {
			c, err := e.ask(ctx, owner, req, r)
			if err == nil {
				return c, nil
			}
			e.log.Debug("cluster: read attempt failed; retrying", "partition", r.p, "owner", owner, "err", err)
			last = err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return chunk{}, fmt.Errorf("cluster: partition %d: %w (last: %v)", r.p, ctx.Err(), last)
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// ask sends one request to owner and decodes its answer.
func (e *Engine) ask(ctx context.Context, owner string, req []byte, r *readRequest) (chunk, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	m, err := e.nc.RequestWithContext(ctx, getSubject(owner), req)
	if err != nil {
		return chunk{}, fmt.Errorf("cluster: read from %s: %w", owner, err)
	}
	switch m.Header.Get(statusHeader) {
	case statusOK:
	case statusNotOwner:
		return chunk{}, errNotOwner
	default:
		return chunk{}, fmt.Errorf("cluster: %s could not answer", owner)
	}
	c, err := r.advance(m.Data)
	if err != nil {
		return chunk{}, fmt.Errorf("cluster: answer from %s: %w", owner, err)
	}
	return c, nil
}

// advance decodes an ok answer to r and moves r past it: the requests
// that follow carry the barrier's sequence and resume after the answer's
// last record.
func (r *readRequest) advance(data []byte) (chunk, error) {
	a, err := decodeAnswer(data)
	if err != nil || (!a.end && !a.hasLast) {
		return chunk{}, errCorrupt
	}
	if r.barrier {
		r.barrier, r.minSeq = false, a.seq
	}
	if a.hasLast {
		r.started = true
		r.cur = cursor{rev: a.last.rev, key: append(r.cur.key[:0], a.last.key...), ts: a.last.ts}
	}
	return chunk{data: a.records, end: a.end}, nil
}

// read streams partitions' answers, merged in (revision, key) order, to
// fn; see merge.
func (e *Engine) read(kind byte, parts []int, key []byte, fn store.VisitFunc) error {
	m := &merge{
		window: readWindow,
		fetch: func(ctx context.Context, i int, r *readRequest) (chunk, error) {
			if r.kind == 0 {
				*r = readRequest{kind: kind, p: parts[i], barrier: true, key: key}
			}
			return e.fetch(ctx, r)
		},
	}
	return m.run(e.ctx, len(parts), fn)
}

// readWindow is how many chunks of one partition a read holds at most:
// the one being written out and the next, fetched meanwhile.
const readWindow = 2

// Get implements store.Storage: the key's owner answers after the read
// barrier, so every put acknowledged before the get started is in it. A
// long series arrives in chunks, one partition's read.
func (e *Engine) Get(key []byte, fn store.VisitFunc) error {
	p := PartitionOf(key, e.layout.Partitions)
	if err := e.read(kindKey, []int{p}, key, fn); err != nil {
		if v, ok := errors.AsType[*visitError](err); ok {
			return v.err
		}
		e.log.Warn("get failed", "err", err)
		return ErrUnavailable
	}
	return nil
}

// All implements store.Storage: every partition's owner answers, after
// its barrier, in chunks of its series in revision order, and the node
// merges the partitions' streams (merge) as they arrive, so the series
// are visited in the cluster-wide first-insertion order while the node
// holds at most readWindow chunks a partition.
func (e *Engine) All(fn store.VisitFunc) error {
	if err := e.read(kindAll, e.allPartitions(), nil, fn); err != nil {
		if v, ok := errors.AsType[*visitError](err); ok {
			return v.err
		}
		e.log.Warn("get * failed", "err", err)
		return ErrUnavailable
	}
	return nil
}

// Keys visits every key with points in the cluster, in first-insertion
// order, without its points (what the seam's store.Engine asks of every
// engine, and what /metrics/find and the tag API scan): the owners send
// keys only.
func (e *Engine) Keys(fn func(key []byte) error) error {
	err := e.read(kindKeys, e.allPartitions(), nil, func(key []byte, _ []store.Point) error { return fn(key) })
	if err != nil {
		if v, ok := errors.AsType[*visitError](err); ok {
			return v.err
		}
		e.log.Warn("key scan failed", "err", err)
		return ErrUnavailable
	}
	return nil
}

func (e *Engine) allPartitions() []int {
	parts := make([]int, e.layout.Partitions)
	for p := range parts {
		parts[p] = p
	}
	return parts
}
