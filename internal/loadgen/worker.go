package loadgen

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"metricsd/internal/deadline"
)

// Latencies are recorded in nanoseconds from 1 ns to latencyMax with 3
// significant digits (0.1% resolution); a longer one is recorded as the max.
const (
	latencyMax     = int64(100 * time.Second)
	latencySigFigs = 3
)

// graphiteBatch is how many Graphite lines one write carries (about 40 KB),
// as a relay would batch them; the pipeline depth does not apply there.
const graphiteBatch = 1024

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return at
// once, which is how a cancelled run interrupts its connections.
var aLongTimeAgo = time.Unix(1, 0)

// counts are one worker's tallies. They are atomics only so that the
// progress line can read them while the worker runs; each worker adds to
// its own once per window, so there is no contention.
type counts struct {
	done      atomic.Int64 // requests answered or lost; Graphite lines written
	ok        atomic.Int64
	errReply  atomic.Int64 // "error\n..." answers
	bad       atomic.Int64 // answers that were not the expected one
	lost      atomic.Int64 // requests whose answer never came (connection failed)
	points    atomic.Int64 // point lines read by gets
	bytesRead atomic.Int64
	_         [64]byte // keep neighbouring workers' counters apart
}

// worker drives one connection.
type worker struct {
	run   *runner
	id    int    // the connection's index, which picks its keys
	next  uint64 // owned keys: the next of this connection's requests
	quota int64  // owned keys: this connection's share of Requests; -1 unbounded
	conn  net.Conn
	rd    *Reader
	wbuf  []byte
	exp   []Expect
	hist  *hdrhistogram.Histogram
	max   time.Duration
	err   error // the first connection failure, for the report
	c     counts

	armed deadline.Lazy // the connection's deadline
}

func newWorker(r *runner, id int) *worker {
	quota := int64(-1)
	if n, c := r.cfg.Requests, int64(r.cfg.Connections); n > 0 {
		quota = n / c
		if int64(id) < n%c {
			quota++
		}
	}
	return &worker{
		run:   r,
		id:    id,
		quota: quota,
		hist:  hdrhistogram.New(1, latencyMax, latencySigFigs),
		exp:   make([]Expect, 0, r.cfg.Pipeline),
	}
}

// loop claims windows of requests until the run's bounds are reached.
func (w *worker) loop(ctx context.Context) {
	defer w.hangUp()
	size := w.run.cfg.Pipeline
	if w.run.cfg.Workload == WorkloadGraphite {
		size = graphiteBatch
	}
	for {
		start, n := w.claim(ctx, size)
		if n == 0 {
			return
		}
		if w.conn == nil {
			if err := w.dial(ctx); err != nil {
				w.c.lost.Add(int64(n))
				w.c.done.Add(int64(n))
				return // the server is gone: more attempts would only spin
			}
		}
		if w.run.cfg.Workload == WorkloadGraphite {
			w.stream(ctx, start, n)
		} else {
			w.window(ctx, start, n)
		}
	}
}

// claim reserves up to size requests, in the run's sequence (Spread) or
// in this connection's own; seq maps them to sequence numbers.
func (w *worker) claim(ctx context.Context, size int) (start uint64, n int) {
	if w.run.cfg.Spread {
		return w.run.claim(ctx, size)
	}
	if !w.run.going(ctx) || w.quota == int64(w.next) {
		return 0, 0
	}
	n = size
	if w.quota >= 0 {
		n = int(min(int64(size), w.quota-int64(w.next)))
	}
	start = w.next
	w.next += uint64(n)
	return start, n
}

// seq is the sequence number of the j-th request claimed.
func (w *worker) seq(j uint64) uint64 {
	if w.run.cfg.Spread || w.run.cfg.Workload == WorkloadGetAll { // "get *" names no key
		return j
	}
	return w.run.gen.Owned(w.id, w.run.cfg.Connections, j)
}

// dial connects, and arranges for a cancelled run to interrupt the
// connection's I/O.
func (w *worker) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: w.run.cfg.Timeout}
	addr := w.run.targets[w.id%len(w.run.targets)]
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		w.fail(fmt.Errorf("dial %s: %w", addr, err))
		return err
	}
	context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	w.conn = conn
	w.rd = NewReader(conn)
	return nil
}

// arm makes sure the next window's I/O has at least Timeout from now. The
// deadline is renewed lazily (package deadline): setting it for every
// window was 2 % of the generator's CPU, which the server being measured
// would otherwise have had; a hung window fails after 1 to 1.5 × Timeout.
// A cancellation that came before a renewal would be overwritten, so it is
// checked after it: one that comes later sets the deadline in the past
// itself.
func (w *worker) arm(ctx context.Context, now time.Time) error {
	if at, renew := w.armed.Renew(now, w.run.cfg.Timeout); renew {
		if err := w.conn.SetDeadline(at); err != nil {
			return fmt.Errorf("set deadline: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run stopped: %w", err)
	}
	return nil
}

// hangUp closes the connection, if any.
func (w *worker) hangUp() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.rd = nil, nil
		w.armed.Reset()
	}
}

// fail records the first connection failure.
func (w *worker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// window sends claimed requests start..start+n-1 in one write and reads their n
// answers. An answer's latency runs from the write to the read that
// completed it: the clock is read once per read, not per answer, and the
// answers one read completed are recorded together, so that the generator
// spends its CPU on load rather than on clock reads and histogram updates.
func (w *worker) window(ctx context.Context, start uint64, n int) {
	g := w.run.gen
	w.wbuf, w.exp = w.wbuf[:0], w.exp[:0]
	for j := start; j < start+uint64(n); j++ {
		i := w.seq(j)
		w.wbuf = g.AppendRequest(w.wbuf, i)
		w.exp = append(w.exp, w.expect(i))
	}
	rd, read0 := w.rd, w.rd.BytesRead()
	defer func() { w.c.bytesRead.Add(rd.BytesRead() - read0) }()
	t0 := time.Now()
	if err := w.arm(ctx, t0); err != nil {
		w.broken(err, n)
		return
	}
	if _, err := w.conn.Write(w.wbuf); err != nil {
		w.broken(fmt.Errorf("write requests: %w", err), n)
		return
	}
	var ok, errReply, bad, points int64
	var lat timedReads
	for j, exp := range w.exp {
		a, err := rd.Next(exp)
		if err != nil {
			w.broken(err, n-j)
			break
		}
		if lat.fills != rd.Fills() {
			w.record(lat.latency, lat.answers)
			lat = timedReads{fills: rd.Fills(), latency: time.Since(t0)}
		}
		lat.answers++
		points += a.Points
		switch a.Verdict {
		case VerdictOK:
			ok++
		case VerdictError:
			errReply++
		default:
			bad++
		}
	}
	w.record(lat.latency, lat.answers)
	w.c.ok.Add(ok)
	w.c.errReply.Add(errReply)
	w.c.bad.Add(bad)
	w.c.points.Add(points)
	w.c.done.Add(ok + errReply + bad)
}

// expect is what request i's answer must be.
func (w *worker) expect(i uint64) Expect {
	g := w.run.gen
	switch {
	case g.workload == WorkloadGetAll:
		return Expect{Get: true}
	case g.IsGet(i):
		return Expect{Get: true, Key: g.Key(g.KeyOf(i)), CheckNumbers: true}
	}
	return Expect{}
}

// broken counts the n requests whose answers were lost with the
// connection, and drops it so that the next window redials.
func (w *worker) broken(err error, n int) {
	w.fail(err)
	w.c.lost.Add(int64(n))
	w.c.done.Add(int64(n))
	w.hangUp()
}

// timedReads are the answers completed by one read of a window and the
// latency they share.
type timedReads struct {
	fills   int64 // the reader's Fills when the latency was taken
	latency time.Duration
	answers int64
}

// record adds n answers of latency d to the histogram.
func (w *worker) record(d time.Duration, n int64) {
	if n == 0 {
		return
	}
	w.max = max(w.max, d)
	w.hist.RecordValues(min(max(int64(d), 1), latencyMax), n) // clamped into range, so it cannot fail
}

// stream writes claimed Graphite lines start..start+n-1 in one write; nothing is
// answered.
func (w *worker) stream(ctx context.Context, start uint64, n int) {
	w.wbuf = w.wbuf[:0]
	for j := start; j < start+uint64(n); j++ {
		w.wbuf = w.run.gen.AppendGraphite(w.wbuf, w.seq(j))
	}
	if err := w.arm(ctx, time.Now()); err != nil {
		w.broken(err, n)
		return
	}
	if _, err := w.conn.Write(w.wbuf); err != nil {
		w.broken(fmt.Errorf("write graphite lines: %w", err), n)
		return
	}
	w.c.ok.Add(int64(n))
	w.c.done.Add(int64(n))
}
