package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Leases. A partition's owner is the value of key p<p> in the owners
// bucket. Its owner renews it every LeaseTTL/4 by compare-and-set on the
// entry's revision (Update), and a node's heartbeat in the nodes bucket
// works the same way with a plain Put.
//
// Expiry is judged by the observer's own monotonic clock, not by a
// server-side TTL (which Debian's nats-server 2.9.10 cannot signal to a
// watcher): an entry whose revision has not changed for LeaseTTL since the
// observer saw it is expired, and the observer may claim it by Update on
// that revision. The owner, for its part, treats its lease as valid until
// 0.9 × LeaseTTL after it SENT the renewal that made the current revision.
// That send precedes the moment any observer saw that revision, so the old
// owner stops answering before anyone can claim: and the claim's CAS fails
// if a renewal did land in between. (Assumption, as for every lease: the
// nodes' clocks run at about the same rate.)

// leaseEntry is the watched state of one key.
type leaseEntry struct {
	node string
	rev  uint64
	seen time.Time // when this node first saw rev
}

// leases runs this node's part in membership and ownership.
type leases struct {
	e   *Engine
	ttl time.Duration

	mu     sync.Mutex
	owners map[int]leaseEntry    // partition → its lease as last seen
	nodes  map[string]leaseEntry // node → its heartbeat as last seen
	held   map[int]*partition    // the partitions this node owns

	watchers []jetstream.KeyWatcher
	stopCh   chan struct{}
	done     chan struct{}
}

// validFraction is the part of LeaseTTL for which an owner trusts its lease
// after sending a renewal, leaving a margin for clock-rate differences.
const validFraction = 0.9

func startLeases(e *Engine) (*leases, error) {
	l := &leases{
		e:      e,
		ttl:    e.cfg.LeaseTTL,
		owners: make(map[int]leaseEntry),
		nodes:  make(map[string]leaseEntry),
		held:   make(map[int]*partition),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(e.ctx, setupTimeout)
	defer cancel()
	for _, kv := range []jetstream.KeyValue{e.owners, e.nodes} {
		w, err := kv.WatchAll(e.ctx)
		if err != nil {
			l.stopWatchers()
			return nil, fmt.Errorf("cluster: watch %s: %w", kv.Bucket(), err)
		}
		l.watchers = append(l.watchers, w)
		// The initial values end with a nil entry; wait for it, so the
		// first tick knows the cluster as it is.
		for initial := true; initial; {
			select {
			case entry := <-w.Updates():
				if entry == nil {
					initial = false
					break
				}
				l.note(entry)
			case <-ctx.Done():
				l.stopWatchers()
				return nil, fmt.Errorf("cluster: watch %s: %w", kv.Bucket(), ctx.Err())
			}
		}
	}
	for _, w := range l.watchers {
		go func() {
			for entry := range w.Updates() {
				if entry != nil {
					l.note(entry)
				}
			}
		}()
	}
	go l.run()
	return l, nil
}

// note records a watched change of the owners or nodes bucket.
func (l *leases) note(entry jetstream.KeyValueEntry) {
	now := time.Now()
	deleted := entry.Operation() != jetstream.KeyValuePut
	l.mu.Lock()
	defer l.mu.Unlock()
	if entry.Bucket() == nodesBucket {
		if deleted {
			delete(l.nodes, entry.Key())
		} else {
			l.nodes[entry.Key()] = leaseEntry{node: entry.Key(), rev: entry.Revision(), seen: now}
		}
		return
	}
	p, ok := parseLeaseKey(entry.Key())
	if !ok {
		return
	}
	if deleted {
		delete(l.owners, p)
		return
	}
	l.owners[p] = leaseEntry{node: string(entry.Value()), rev: entry.Revision(), seen: now}
}

func leaseKey(p int) string { return "p" + strconv.Itoa(p) }

func parseLeaseKey(k string) (int, bool) {
	p, err := strconv.Atoi(strings.TrimPrefix(k, "p"))
	return p, err == nil && strings.HasPrefix(k, "p")
}

// run ticks every LeaseTTL/4 until stop.
func (l *leases) run() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	for {
		l.tick()
		select {
		case <-t.C:
		case <-l.stopCh:
			return
		}
	}
}

// tick heartbeats, then renews, releases or claims partitions so that
// ownership converges on assign's plan.
func (l *leases) tick() {
	me := l.e.cfg.Node
	ctx, cancel := context.WithTimeout(l.e.ctx, l.opTimeout())
	_, err := l.e.nodes.Put(ctx, me, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	cancel()
	if err != nil {
		l.e.log.Warn("cluster heartbeat failed", "err", err)
	}
	// The partitions' operations run side by side, each bounded, so that
	// a bucket failing over delays a tick by one operation's bound, not
	// by one per partition (which let leases lapse).
	ctx, cancel = context.WithTimeout(l.e.ctx, l.opTimeout())
	defer cancel()
	var wg sync.WaitGroup
	for p, want := range l.plan() {
		l.mu.Lock()
		entry, leased := l.owners[p]
		part := l.held[p]
		l.mu.Unlock()
		var op func()
		switch {
		case part != nil && want != me:
			op = func() { l.release(ctx, part) }
		case part != nil:
			op = func() { l.renew(ctx, part) }
		case want != me:
		case !leased:
			op = func() { l.claim(ctx, p, 0) }
		case time.Since(entry.seen) > l.ttl:
			op = func() { l.claim(ctx, p, entry.rev) }
		}
		if op != nil {
			wg.Add(1)
			go func() { defer wg.Done(); op() }()
		}
	}
	wg.Wait()
}

// opTimeout bounds one KV operation of a tick.
func (l *leases) opTimeout() time.Duration { return l.ttl / 3 }

// plan is the owner each partition should have, computed from the live
// nodes and the current owners (see assign).
func (l *leases) plan() []string {
	now := time.Now()
	l.mu.Lock()
	live := []string{l.e.cfg.Node}
	for name, n := range l.nodes {
		if name != l.e.cfg.Node && now.Sub(n.seen) <= l.ttl {
			live = append(live, name)
		}
	}
	current := make([]string, l.e.layout.Partitions)
	for p, entry := range l.owners {
		if p < len(current) && now.Sub(entry.seen) <= l.ttl {
			current[p] = entry.node
		}
	}
	for p := range l.held {
		current[p] = l.e.cfg.Node
	}
	l.mu.Unlock()
	slices.Sort(live)
	return assign(current, live)
}

// assign plans an owner for every partition: each live node gets
// ⌊P/N⌋ or ⌈P/N⌉ partitions (the first P mod N nodes in name order get one
// more); partitions keep their current live owner while it is within its
// quota, so that a join or a leave moves only the partitions it must. Every
// node computes the same plan from the same view.
func assign(current, live []string) []string {
	quota := make(map[string]int, len(live))
	for i, n := range live {
		quota[n] = len(current) / len(live)
		if i < len(current)%len(live) {
			quota[n]++
		}
	}
	plan := make([]string, len(current))
	for p, owner := range current {
		if quota[owner] > 0 {
			plan[p] = owner
			quota[owner]--
		}
	}
	next := 0
	for p := range plan {
		if plan[p] != "" {
			continue
		}
		for quota[live[next]] == 0 {
			next++
		}
		plan[p] = live[next]
		quota[live[next]]--
	}
	return plan
}

// claim takes partition p's lease (Create when it has none, else
// compare-and-set on the expired revision rev) and starts consuming it.
func (l *leases) claim(ctx context.Context, p int, rev uint64) {
	sent := time.Now()
	var err error
	if rev == 0 {
		rev, err = l.e.owners.Create(ctx, leaseKey(p), []byte(l.e.cfg.Node))
	} else {
		rev, err = l.e.owners.Update(ctx, leaseKey(p), []byte(l.e.cfg.Node), rev)
	}
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			l.e.log.Warn("cluster: claiming a partition failed", "partition", p, "err", err)
		}
		return
	}
	part := newPartition(l.e, p)
	part.setLease(rev, sent.Add(time.Duration(float64(l.ttl)*validFraction)))
	if err := part.start(); err != nil {
		l.e.log.Warn("cluster: consuming a claimed partition failed", "partition", p, "err", err)
		l.e.owners.Delete(ctx, leaseKey(p), jetstream.LastRevision(rev))
		return
	}
	l.mu.Lock()
	l.held[p] = part
	l.mu.Unlock()
	l.e.log.Debug("cluster: partition claimed", "partition", p)
	l.mu.Lock()
	l.owners[p] = leaseEntry{node: l.e.cfg.Node, rev: rev, seen: time.Now()}
	l.mu.Unlock()
}

// renew extends part's lease by compare-and-set; a lost race means another
// node has it, and this one lets it go.
func (l *leases) renew(ctx context.Context, part *partition) {
	sent := time.Now()
	rev, _ := part.lease()
	next, err := l.e.owners.Update(ctx, leaseKey(part.p), []byte(l.e.cfg.Node), rev)
	switch {
	case err == nil:
		part.setLease(next, sent.Add(time.Duration(float64(l.ttl)*validFraction)))
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists):
		// An earlier renewal whose ack was lost (a NATS server failing
		// over) may have landed: then the lease still names this node,
		// which alone writes its name, and it is still ours. Its
		// validity is not extended: the landed renewal's send time is
		// not known.
		if entry, gerr := l.e.owners.Get(ctx, leaseKey(part.p)); gerr == nil && string(entry.Value()) == l.e.cfg.Node {
			part.adoptRevision(entry.Revision())
			return
		}
		l.e.log.Warn("cluster: lost a partition's lease", "partition", part.p)
		l.drop(part)
	default:
		// Keep it: the lease runs out by itself if renewals keep failing.
		l.e.log.Warn("cluster: renewing a lease failed", "partition", part.p, "err", err)
	}
}

// release gives part up for another node to claim.
func (l *leases) release(ctx context.Context, part *partition) {
	l.drop(part)
	rev, _ := part.lease()
	if err := l.e.owners.Delete(ctx, leaseKey(part.p), jetstream.LastRevision(rev)); err != nil {
		l.e.log.Warn("cluster: releasing a lease failed; it will expire", "partition", part.p, "err", err)
	}
	l.e.log.Debug("cluster: partition released", "partition", part.p)
}

// drop stops owning part.
func (l *leases) drop(part *partition) {
	l.mu.Lock()
	if l.held[part.p] == part {
		delete(l.held, part.p)
	}
	l.mu.Unlock()
	part.stop()
}

// partition returns the partition p if this node holds it, else nil.
func (l *leases) partition(p int) *partition {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[p]
}

// heldPartitions lists the partitions this node holds.
func (l *leases) heldPartitions() []*partition {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := make([]*partition, 0, len(l.held))
	for _, part := range l.held {
		parts = append(parts, part)
	}
	return parts
}

// ownerOf is the node that partition p's lease names, or "".
func (l *leases) ownerOf(p int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[p] != nil {
		return l.e.cfg.Node
	}
	return l.owners[p].node
}

// stop ends the ticks, releases every partition and the heartbeat, so that
// the other nodes take over at once rather than after LeaseTTL.
func (l *leases) stop() {
	close(l.stopCh)
	<-l.done
	ctx, cancel := context.WithTimeout(l.e.ctx, l.ttl)
	defer cancel()
	for _, part := range l.heldPartitions() {
		l.release(ctx, part)
	}
	if err := l.e.nodes.Delete(ctx, l.e.cfg.Node); err != nil {
		l.e.log.Warn("cluster: removing the heartbeat failed", "err", err)
	}
	l.stopWatchers()
}

func (l *leases) stopWatchers() {
	for _, w := range l.watchers {
		w.Stop()
	}
}
