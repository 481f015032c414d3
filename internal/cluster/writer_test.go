package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/store"
)

// fakeStream is a partition stream behind a faulty link, for the writer's
// publishMsg seam: an attempt may be lost on the way, land with its ack
// lost, land late (after a later attempt), or land and be acknowledged.
// Like JetStream it drops a message whose ID it has stored.
type fakeStream struct {
	mu      sync.Mutex
	rng     *rand.Rand
	ids     map[string]bool
	landed  [][]byte
	late    []*nats.Msg // attempts still on their way
	publish int         // attempts seen
}

func newFakeStream(seed uint64) *fakeStream {
	return &fakeStream{rng: rand.New(rand.NewPCG(seed, seed)), ids: map[string]bool{}}
}

// land stores msg unless a message with its ID is stored. fs.mu is held.
func (fs *fakeStream) land(msg *nats.Msg) {
	id := msg.Header.Get(jetstream.MsgIDHeader)
	if fs.ids[id] {
		return
	}
	fs.ids[id] = true
	fs.landed = append(fs.landed, append([]byte(nil), msg.Data...))
}

func (fs *fakeStream) publishMsg(ctx context.Context, msg *nats.Msg) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.publish++
	// Late attempts land first, in any order, at a random later moment.
	for len(fs.late) > 0 && fs.rng.IntN(2) == 0 {
		i := fs.rng.IntN(len(fs.late))
		fs.land(fs.late[i])
		fs.late = append(fs.late[:i], fs.late[i+1:]...)
	}
	switch r := fs.rng.IntN(10); {
	case r < 2: // lost on the way
		return errors.New("injected: no responders")
	case r < 4: // landed, ack lost
		fs.land(msg)
		return context.DeadlineExceeded
	case r < 6: // still on its way (a copy, as sent): it lands later
		late := *msg
		late.Data = append([]byte(nil), msg.Data...)
		fs.late = append(fs.late, &late)
		return context.DeadlineExceeded
	default:
		fs.land(msg)
		return nil
	}
}

// testWriter is a writer of partition 0 of an engine that has no NATS:
// its batches go to publish.
func testWriter(t *testing.T, publish func(context.Context, *nats.Msg) error, opTimeout time.Duration) *writer {
	t.Helper()
	e := &Engine{cfg: Config{BatchDelay: 50 * time.Microsecond, OpTimeout: opTimeout}, log: slog.New(slog.DiscardHandler), boot: "test"}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	w := newWriter(e, 0)
	w.publishMsg = publish
	w.retryPause = 0
	e.wg.Add(1)
	go func() { defer e.wg.Done(); w.run() }()
	t.Cleanup(func() { e.cancel(); e.wg.Wait() })
	return w
}

// taken reports whether w's writer has taken b (b is not filling).
func taken(w *writer, b *batch) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) == 0 || w.queue[len(w.queue)-1] != b
}

type record struct {
	key string
	rev uint64
	p   store.Point
}

func decodeAll(t *testing.T, msgs [][]byte) []record {
	t.Helper()
	var out []record
	for _, m := range msgs {
		if err := decodeBatch(m, func(key []byte, rev uint64, p store.Point) error {
			out = append(out, record{string(key), rev, p})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestWriterOrderUnderFaults: puts submitted without waiting (a pipelining
// session) land in the stream exactly once each and in submission order,
// although publishes are lost, acknowledged late or land after their
// retry; so the last value submitted for a (key, timestamp) is the last
// one in the stream. Puts of keys whose revision is still being created
// wait for it and carry it.
func TestWriterOrderUnderFaults(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			fs := newFakeStream(seed)
			w := testWriter(t, fs.publishMsg, time.Minute)
			rng := rand.New(rand.NewPCG(seed, 99))
			var want []record
			var tickets []*batch
			var slow []*keyRev
			for i := range 3000 {
				r := record{key: fmt.Sprintf("k%d", rng.IntN(20)), rev: uint64(rng.IntN(1000) + 1), p: store.Point{Timestamp: int64(rng.IntN(5)), Value: float64(i)}}
				var kr *keyRev
				if rng.IntN(50) == 0 { // a new key: its revision comes later
					kr = &keyRev{done: make(chan struct{})}
					kr.rev = r.rev
					slow = append(slow, kr)
				}
				b, err := w.enqueue([]byte(r.key), r.rev, kr, r.p)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, r)
				tickets = append(tickets, b)
				if rng.IntN(10) == 0 {
					// Let the writer take this batch, so the next
					// put starts another while this one is in
					// flight (and maybe failing). The revisions
					// it may wait for come first.
					for _, kr := range slow {
						close(kr.done)
					}
					slow = nil
					for deadline := time.Now().Add(30 * time.Second); !taken(w, b); {
						if time.Now().After(deadline) {
							t.Fatal("the writer did not take a batch in 30 s")
						}
						time.Sleep(20 * time.Microsecond) // poll interval
					}
				}
				if rng.IntN(100) == 0 {
					for _, kr := range slow {
						close(kr.done)
					}
					slow = nil
				}
			}
			for _, kr := range slow {
				close(kr.done)
			}
			for i, b := range tickets {
				if err := b.Wait(0); err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
			}
			fs.mu.Lock()
			got := decodeAll(t, fs.landed)
			attempts := fs.publish
			fs.mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("%d points landed, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("point %d in the stream is %+v, want %+v (submission order)", i, got[i], want[i])
				}
			}
			t.Logf("%d points in %d batches, %d publish attempts", len(want), len(fs.landed), attempts)
		})
	}
}

// TestWriterFailures: a batch whose key revision failed is not published
// and its puts answer ErrUnavailable, while the batches around it go; a
// partition that never acknowledges answers ErrUnavailable once OpTimeout
// has passed; a closed writer refuses new puts.
func TestWriterFailures(t *testing.T) {
	t.Run("key order failed", func(t *testing.T) {
		fs := newFakeStream(7)
		w := testWriter(t, fs.publishMsg, time.Minute)
		kr := &keyRev{done: make(chan struct{})}
		first, _ := w.enqueue([]byte("a"), 1, nil, store.Point{Timestamp: 1, Value: 1})
		if err := first.Wait(0); err != nil {
			t.Fatal(err)
		}
		bad, _ := w.enqueue([]byte("new"), 0, kr, store.Point{Timestamp: 1, Value: 2})
		kr.err = errors.New("injected: keys bucket unavailable")
		close(kr.done)
		if err := bad.Wait(0); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("put of a key whose entry failed: %v, want %v", err, ErrUnavailable)
		}
		next, _ := w.enqueue([]byte("a"), 1, nil, store.Point{Timestamp: 2, Value: 3})
		if err := next.Wait(0); err != nil {
			t.Fatal(err)
		}
		fs.mu.Lock()
		got := decodeAll(t, fs.landed)
		fs.mu.Unlock()
		want := []record{{"a", 1, store.Point{Timestamp: 1, Value: 1}}, {"a", 1, store.Point{Timestamp: 2, Value: 3}}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stream holds %v, want %v", got, want)
		}
	})
	t.Run("no ack", func(t *testing.T) {
		w := testWriter(t, func(ctx context.Context, _ *nats.Msg) error {
			<-ctx.Done()
			return ctx.Err()
		}, 200*time.Millisecond)
		b, err := w.enqueue([]byte("a"), 1, nil, store.Point{Timestamp: 1, Value: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.NewTicket(b, 0).Wait(); !errors.Is(err, ErrUnavailable) || err.Error() != "cluster unavailable" {
			t.Fatalf("ticket of a put never acknowledged: %v, want %v", err, ErrUnavailable)
		}
	})
	t.Run("closed", func(t *testing.T) {
		block := make(chan struct{})
		w := testWriter(t, func(ctx context.Context, _ *nats.Msg) error {
			<-block
			return nil
		}, time.Minute)
		queued, _ := w.enqueue([]byte("a"), 1, nil, store.Point{Timestamp: 1, Value: 1})
		w.e.cancel()
		close(block)
		if err := queued.Wait(0); err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("put queued at close: %v", err)
		}
		waitFor(t, "the writer closed", func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.closed
		})
		if _, err := w.enqueue([]byte("a"), 1, nil, store.Point{Timestamp: 2, Value: 1}); err == nil {
			t.Fatal("a closed writer took a put")
		}
	})
}

// TestRevisionWrittenLater: a record whose revision is written in after it
// was appended (a new key's first put) decodes to the same record as one
// appended with its revision, for every revision size, and the padded room
// holds what maxRecordOverhead says.
func TestRevisionWrittenLater(t *testing.T) {
	for _, rev := range []uint64{0, 1, 127, 128, 1 << 14, 1<<35 + 3, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		p := store.Point{Timestamp: -42, Value: 2.5}
		b, off := appendRecordRevLater([]byte("prefix"), []byte("palm.cpu"), p)
		putRevision(b[off:], rev)
		if got := len(b) - len("prefix"); got > len("palm.cpu")+maxRecordOverhead {
			t.Errorf("revision %d: record of %d bytes, more than the %d maxRecordOverhead allows", rev, got, len("palm.cpu")+maxRecordOverhead)
		}
		var gotRev uint64
		var gotKey string
		var gotP store.Point
		if err := decodeBatch(b[len("prefix"):], func(key []byte, r uint64, q store.Point) error {
			gotKey, gotRev, gotP = string(key), r, q
			return nil
		}); err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
		if gotKey != "palm.cpu" || gotRev != rev || gotP != p {
			t.Errorf("revision %d: decoded %q %d %v", rev, gotKey, gotRev, gotP)
		}
	}
}
