package server

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// fuzzMaxLine is the line limit of the fuzzed sessions: small, so that
// over-long lines (and the skipping of their rest) come up often.
const fuzzMaxLine = 40

// runSession sends in to a fresh server in writes of at most chunk bytes,
// half-closes, and returns everything the server answered.
func runSession(t *testing.T, in []byte, chunk int) []byte {
	t.Helper()
	srv, err := New(Config{Storage: store.NewMemory(), MaxLineLength: fuzzMaxLine})
	if err != nil {
		t.Fatal(err)
	}
	c := testnet.Dial(t, testnet.Serve(t, srv, ErrServerClosed))
	answered := make(chan []byte, 1)
	go func() {
		out, _ := io.ReadAll(c)
		answered <- out
	}()
	for rest := in; len(rest) > 0; {
		n := min(chunk, len(rest))
		if _, err := c.Write(rest[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		rest = rest[n:]
	}
	c.(*net.TCPConn).CloseWrite()
	select {
	case out := <-answered:
		return out
	case <-time.After(testnet.Timeout):
		t.Fatal("the session did not end after the client's half-close")
		return nil
	}
}

// countAnswers splits out into answers ("ok\n" and lines up to an empty
// line, or "error\n<line>\n\n") and returns how many there are, failing on
// anything else.
func countAnswers(t *testing.T, out []byte) int {
	t.Helper()
	n := 0
	for len(out) > 0 {
		end := bytes.Index(out, []byte("\n\n"))
		if end < 0 || !(bytes.HasPrefix(out, []byte("ok\n")) || bytes.HasPrefix(out, []byte("error\n"))) {
			t.Fatalf("malformed answer at %q", out[:min(len(out), 60)])
		}
		if bytes.HasPrefix(out, []byte("ok\n\n")) {
			end = 2 // an empty ok: its own "\n" starts the "\n\n"
		} else if bytes.HasPrefix(out, []byte("error\n")) && bytes.Count(out[:end], []byte("\n")) != 1 {
			t.Fatalf("an error answer with more than one line: %q", out[:end+2])
		}
		out = out[end+2:]
		n++
	}
	return n
}

// FuzzSession sends arbitrary bytes through a real session over TCP: the
// server must never fail, must answer every complete line exactly once,
// and must answer the same bytes whether the input arrives whole or cut
// into small writes.
func FuzzSession(f *testing.F) {
	f.Add([]byte("put a 1 1\nget a\nget *\n"), uint8(1))
	f.Add([]byte("put k 1e16 1\r\nbad\n\xff\xfe\nget k\n"), uint8(3))
	f.Add([]byte("put "+string(bytes.Repeat([]byte("x"), 100))+" 1 1\nget *\n"), uint8(7))
	f.Add([]byte("put a 1 1\nput a 2 1\nput b nan 0\nget *\npartial"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		if len(in) > 4096 {
			return // keep an iteration cheap; framing is what is fuzzed
		}
		whole := runSession(t, in, len(in)+1)
		split := runSession(t, in, int(chunk%16)+1)
		if !bytes.Equal(whole, split) {
			t.Fatalf("answers depend on how the input was cut:\nwhole %q\nsplit %q", whole, split)
		}
		if got, want := countAnswers(t, whole), bytes.Count(in, []byte("\n")); got != want {
			t.Fatalf("%d answers for %d complete lines", got, want)
		}
	})
}
