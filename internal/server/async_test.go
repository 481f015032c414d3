package server

import (
	"bufio"
	"errors"
	"fmt"
	"sync"
	"testing"

	"metricsd/internal/store"
)

// fakeAsync is a pipelining storage whose nth Wait (counting from 1) fails
// for every n in failWait, and whose Submit fails for every key in
// refuse. It records the order of calls.
type fakeAsync struct {
	*store.Memory
	mu       sync.Mutex
	waits    int
	failWait map[int]bool
	waitErr  error // what a failed Wait returns; nil: a disk error
	refuse   map[string]bool
	calls    []string
}

func (f *fakeAsync) Submit(key []byte, p store.Point) (store.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "submit "+string(key))
	if f.refuse[string(key)] {
		return store.Ticket{}, errors.New("refused at submit")
	}
	return store.NewTicket(f, 0), f.Memory.Put(key, p)
}

// Wait implements store.Waiter.
func (f *fakeAsync) Wait(int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits++
	f.calls = append(f.calls, "wait")
	if f.failWait[f.waits] {
		if f.waitErr != nil {
			return f.waitErr
		}
		return errors.New("disk on fire")
	}
	return nil
}

func TestPipelinedPutsAnsweredAfterCommit(t *testing.T) {
	fake := &fakeAsync{
		Memory:   store.NewMemory(),
		failWait: map[int]bool{2: true},
		refuse:   map[string]bool{"x": true},
	}
	ts := startWith(t, Config{Storage: fake, MaxLineLength: 1024})
	c := ts.dial(t)
	req := "put a 1 1\nput a 2 2\nput x 1 1\nput b 1 1\nget b\nbad\nput c 1 1\n"
	want := "ok\n\n" + "error\nstorage failed\n\n" + "error\nstorage failed\n\n" +
		"ok\n\n" + "ok\nb 1.0 1\n\n" + errWrong + "ok\n\n"
	if got := exchange(t, c, bufio.NewReader(c), req, 7); got != want {
		t.Fatalf("answered %q, want %q", got, want)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	// Both puts before the refused one were submitted before either was
	// waited for: that is what lets them share a commit.
	wantCalls := []string{"submit a", "submit a", "submit x", "wait", "wait", "submit b", "wait", "submit c", "wait"}
	if len(fake.calls) != len(wantCalls) {
		t.Fatalf("calls %q, want %q", fake.calls, wantCalls)
	}
	for i := range wantCalls {
		if fake.calls[i] != wantCalls[i] {
			t.Fatalf("calls %q, want %q", fake.calls, wantCalls)
		}
	}
}

// TestUnavailableAnswer: a put whose ticket fails with store.ErrUnavailable
// (a cluster that could not acknowledge it) is answered that fixed text,
// not the disk's.
func TestUnavailableAnswer(t *testing.T) {
	fake := &fakeAsync{Memory: store.NewMemory(), failWait: map[int]bool{2: true}, waitErr: fmt.Errorf("partition 3: %w", store.ErrUnavailable)}
	ts := startWith(t, Config{Storage: fake, MaxLineLength: 1024})
	c := ts.dial(t)
	want := "ok\n\n" + "error\ncluster unavailable\n\n" + "ok\n\n"
	if got := exchange(t, c, bufio.NewReader(c), "put a 1 1\nput a 2 2\nput a 3 3\n", 3); got != want {
		t.Fatalf("answered %q, want %q", got, want)
	}
}

func TestPendingPutsBounded(t *testing.T) {
	fake := &fakeAsync{Memory: store.NewMemory()}
	ts := startWith(t, Config{Storage: fake, MaxLineLength: 1024})
	c := ts.dial(t)
	const puts = 3*maxPending + 1
	var req []byte
	for range puts {
		req = append(req, "put k 1 1\n"...)
	}
	exchange(t, c, bufio.NewReader(c), string(req), puts)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	pending, most := 0, 0
	for _, call := range fake.calls {
		if call == "wait" {
			pending--
		} else {
			pending++
		}
		most = max(most, pending)
	}
	if most > maxPending {
		t.Fatalf("%d puts were pending at once, want at most %d", most, maxPending)
	}
}
