// Package testnet holds what the tests of metricsd's listeners share:
// serving on an ephemeral loopback port until the test ends, dialling with
// a deadline, and polling a condition with a deadline. Every wait is
// bounded by Timeout, so a bug fails a test instead of hanging the suite.
package testnet

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// Timeout bounds every wait of these helpers.
const Timeout = 10 * time.Second

// Server is what Serve runs: any of metricsd's servers.
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// Serve serves srv on 127.0.0.1:0 until the test ends and returns the
// address. At the end it shuts srv down and checks that Serve returned
// closed (the server's "closed" error, or nil for servers that return nil).
func Serve(t testing.TB, srv Server, closed error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, closed) {
			t.Errorf("Serve returned %v, want %v", err, closed)
		}
	})
	return ln.Addr().String()
}

// Dial connects to addr with Timeout as the connection's deadline, and
// closes the connection when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(Timeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// WaitFor polls cond until it holds, failing the test after Timeout.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // poll interval, not a wait for an event
	}
}
