package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"metricsd/internal/store"
)

// Reads. A get is a request to the owner of the key's partition, on the
// owner's subject metricsd.node.<node>.get, with a reply inbox:
//
//	request: kind ('k' one key, 'a' all keys) uvarint(partition) [key]
//	answer:  one or more messages to the inbox, each a run of appendSeries
//	         records; header Metricsd-Status (ok, not-owner, error) and, on
//	         the last one, Metricsd-End.
//
// The owner answers only after the partition's read barrier and only while
// its lease is valid (fencing); anything else makes the asking node look up
// the owner again and retry until OpTimeout.

const (
	statusHeader   = "Metricsd-Status"
	endHeader      = "Metricsd-End"
	statusOK       = "ok"
	statusNotOwner = "not-owner"
	statusError    = "error"
	kindKey        = 'k'
	kindAll        = 'a'
)

// answerChunk is the size past which an owner sends the answer so far.
const answerChunk = 256 << 10

// attemptTimeout bounds one request to an owner before the asking node
// looks up the owner again: a node that died or was paused never answers.
const attemptTimeout = 3 * time.Second

// fanOut bounds the partitions a `get *` asks at once.
const fanOut = 16

// errNotOwner is an owner's refusal: the partition moved or its lease is
// not trusted at the moment.
var errNotOwner = errors.New("cluster: asked node does not own the partition")

func encodeRequest(kind byte, p int, key []byte) []byte {
	b := append([]byte{kind}, binary.AppendUvarint(nil, uint64(p))...)
	return append(b, key...)
}

func decodeRequest(b []byte) (kind byte, p int, key []byte, ok bool) {
	if len(b) < 2 || (b[0] != kindKey && b[0] != kindAll) {
		return 0, 0, nil, false
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 || v > MaxPartitions {
		return 0, 0, nil, false
	}
	return b[0], int(v), b[1+n:], true
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

func (e *Engine) answer(msg *nats.Msg) {
	kind, p, key, ok := decodeRequest(msg.Data)
	if !ok || msg.Reply == "" || p >= e.layout.Partitions {
		e.log.Warn("cluster: malformed read request ignored", "subject", msg.Subject)
		return
	}
	part := e.lease.partition(p)
	if part == nil {
		e.reply(msg.Reply, statusNotOwner, nil, true)
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OpTimeout)
	defer cancel()
	if err := part.barrier(ctx); err != nil {
		e.log.Warn("cluster: read barrier failed", "partition", p, "err", err)
		e.reply(msg.Reply, statusError, nil, true)
		return
	}
	// Fencing: a node paused past its lease may have lost the partition
	// while it waited; then it must not answer from what it holds.
	if _, valid := part.lease(); !valid || e.lease.partition(p) != part {
		e.reply(msg.Reply, statusNotOwner, nil, true)
		return
	}
	var buf []byte
	visit := func(k []byte, points []store.Point) error {
		if len(buf) >= answerChunk {
			if err := e.reply(msg.Reply, statusOK, buf, false); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = appendSeries(buf, part.revision(k), k, points)
		return nil
	}
	var err error
	if kind == kindKey {
		err = part.mem.Get(key, visit)
	} else {
		err = part.mem.All(visit)
	}
	if err != nil {
		e.log.Warn("cluster: answering a read failed", "partition", p, "err", err)
		e.reply(msg.Reply, statusError, nil, true)
		return
	}
	e.reply(msg.Reply, statusOK, buf, true)
}

// reply sends one message of an answer.
func (e *Engine) reply(inbox, status string, data []byte, end bool) error {
	m := &nats.Msg{Subject: inbox, Data: data, Header: nats.Header{}}
	m.Header.Set(statusHeader, status)
	if end {
		m.Header.Set(endHeader, "1")
	}
	if err := e.nc.PublishMsg(m); err != nil {
		return fmt.Errorf("cluster: send answer: %w", err)
	}
	return nil
}

// query asks partition p's owner, retrying (a moved or dead owner, a
// barrier not yet reached) until ctx ends.
func (e *Engine) query(ctx context.Context, p int, req []byte) ([]seriesData, error) {
	pause := 10 * time.Millisecond
	var last error = errNotOwner
	for {
		if owner := e.lease.ownerOf(p); owner != "" {
			out, err := e.ask(ctx, owner, req)
			if err == nil {
				return out, nil
			}
			last = err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: partition %d: %w (last: %v)", p, ctx.Err(), last)
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// ask sends one request to owner and gathers its answer.
func (e *Engine) ask(ctx context.Context, owner string, req []byte) ([]seriesData, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	inbox := e.nc.NewRespInbox()
	sub, err := e.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribe to answer: %w", err)
	}
	defer sub.Unsubscribe()
	if err := e.nc.PublishRequest(getSubject(owner), inbox, req); err != nil {
		return nil, fmt.Errorf("cluster: send read to %s: %w", owner, err)
	}
	var out []seriesData
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("cluster: answer from %s: %w", owner, err)
		}
		switch m.Header.Get(statusHeader) {
		case statusOK:
		case statusNotOwner:
			return nil, errNotOwner
		default:
			return nil, fmt.Errorf("cluster: %s could not answer", owner)
		}
		if out, err = decodeSeries(m.Data, out); err != nil {
			return nil, fmt.Errorf("cluster: answer from %s: %w", owner, err)
		}
		if m.Header.Get(endHeader) != "" {
			return out, nil
		}
	}
}

// Get implements store.Storage: the key's owner answers after the read
// barrier, so every put acknowledged before the get started is in it.
func (e *Engine) Get(key []byte, fn store.VisitFunc) error {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OpTimeout)
	defer cancel()
	p := PartitionOf(key, e.layout.Partitions)
	series, err := e.query(ctx, p, encodeRequest(kindKey, p, key))
	if err != nil {
		e.log.Warn("get failed", "err", err)
		return ErrUnavailable
	}
	return visitAll(series, fn)
}

// All implements store.Storage: every partition's owner answers (after its
// barrier), and the series are visited in the cluster-wide first-insertion
// order, their keys' revisions in the keys bucket. This first version
// gathers the whole answer before visiting it.
func (e *Engine) All(fn store.VisitFunc) error {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OpTimeout)
	defer cancel()
	results := make([][]seriesData, e.layout.Partitions)
	errs := make([]error, e.layout.Partitions)
	sem := make(chan struct{}, fanOut)
	var wg sync.WaitGroup
	for p := range results {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[p], errs[p] = e.query(ctx, p, encodeRequest(kindAll, p, nil))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		e.log.Warn("get * failed", "err", err)
		return ErrUnavailable
	}
	var all []seriesData
	for _, r := range results {
		all = append(all, r...)
	}
	// Stable: the runs of one long series stay in order.
	slices.SortStableFunc(all, func(a, b seriesData) int {
		switch {
		case a.rev < b.rev:
			return -1
		case a.rev > b.rev:
			return 1
		}
		return 0
	})
	return visitAll(all, fn)
}

func visitAll(series []seriesData, fn store.VisitFunc) error {
	for _, s := range series {
		if err := fn(s.key, s.points); err != nil {
			return err
		}
	}
	return nil
}
