package store

import (
	"context"
	"errors"
	"sync"
)

// ErrUnavailable is the failure of a put (from Submit or its Ticket) that a
// replicated engine (a cluster node) could not get acknowledged in time.
// Its text is what the client is told, the same for every cause; the cause
// goes to the engine's log. A put that failed so may still have been
// stored, as with any timeout.
var ErrUnavailable = errors.New("cluster unavailable")

// Engine is everything a metricsd storage engine can do, and all that the
// listeners and the HTTP API may use: the in-memory engine (Memory) and
// the durable one (package durable) both implement all of it, so no
// capability is discovered by a type assertion that quietly turns a
// feature off (issue #10.2).
//
// Life cycle: Start once (the durable engine recovers its directory
// there), then any number of concurrent calls, then Close. Gets answer
// after Close; the durable engine refuses puts then.
type Engine interface {
	Storage

	// Submit starts a put and returns at once, so that a listener can
	// submit every put of a read batch and then wait for each: the puts
	// of one batch, and those of concurrent clients, share the engine's
	// write (and fsync) to its log (group commit). key is only read during
	// the call. An error from Submit means nothing was stored and there
	// is nothing to wait for; otherwise Ticket.Wait says whether the put
	// was stored. Puts are applied in submission order: for one key and
	// timestamp the last submitted value wins. Put is Submit, then Wait.
	Submit(key []byte, p Point) (Ticket, error)

	// Keys visits every key in first-insertion order, without its points.
	// key is only valid during the call; an error from fn stops the visit
	// and is returned.
	Keys(fn func(key []byte) error) error

	// Stats returns the number of series and of points stored.
	Stats() (series, points int)

	// Ready returns nil while the engine takes puts, and otherwise why it
	// does not (recovering, with the progress; failed; closed), for a
	// readiness probe.
	Ready() error

	// Start makes the engine ready: the durable engine recovers its data
	// directory first. Cancelling ctx stops a long recovery.
	Start(ctx context.Context) error

	// Close stops taking puts, completes those submitted, and releases
	// what the engine holds. Calling it again returns nil.
	Close() error
}

// Ticket is a submitted put's claim on its outcome. The zero Ticket is a
// put already stored.
type Ticket struct {
	w Waiter
	i int
}

// Waiter is what hands out Tickets: a Commit, or a test's fake.
type Waiter interface {
	// Wait blocks until the outcome of put number i is known and returns
	// it (see Ticket.Wait).
	Wait(i int) error
}

// NewTicket returns the ticket of put number i of w.
func NewTicket(w Waiter, i int) Ticket { return Ticket{w: w, i: i} }

// Wait returns once the put is stored as the engine promises (for the
// durable engine: written to the operating system, and fsynced under
// --fsync always) and visible to every Get and All that starts afterwards;
// nil means it was stored, an error that it was not. It may be called any
// number of times, from any goroutine, in any order.
func (t Ticket) Wait() error {
	if t.w == nil {
		return nil
	}
	return t.w.Wait(t.i)
}

// Commit is the outcome of a group of puts that an engine stores together
// (one write of its log): it hands out their Tickets, and is completed
// once, after which every Wait returns.
type Commit struct {
	done chan struct{}
	once sync.Once
	err  error
	errs map[int]error
}

// NewCommit returns a Commit not yet done.
func NewCommit() *Commit { return &Commit{done: make(chan struct{})} }

// Ticket returns the ticket of the group's put number i.
func (c *Commit) Ticket(i int) Ticket { return Ticket{w: c, i: i} }

// Wait implements Waiter.
func (c *Commit) Wait(i int) error {
	<-c.done
	if c.err != nil {
		return c.err
	}
	return c.errs[i]
}

// Refuse records that put i was not stored, because of err, while the
// others may be. It must be called before Done.
func (c *Commit) Refuse(i int, err error) {
	if c.errs == nil {
		c.errs = make(map[int]error)
	}
	c.errs[i] = err
}

// Done completes the group: err, if not nil, is the outcome of every put in
// it. Later calls do nothing.
func (c *Commit) Done(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
	})
}

// Submit implements Engine: Memory stores at once, so the Ticket is
// already complete.
func (m *Memory) Submit(key []byte, p Point) (Ticket, error) {
	return Ticket{}, m.Put(key, p)
}

// Ready implements Engine: memory always takes puts.
func (m *Memory) Ready() error { return nil }

var _ Engine = (*Memory)(nil)
