package client_test

import (
	"context"
	"errors"
	"math"
	"net"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"metricsd"
	"metricsd/client"
	"metricsd/internal/testnet"
)

// startServer runs a real metricsd server on 127.0.0.1:0 until the test
// ends and returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := metricsd.NewServer(metricsd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return testnet.Serve(t, srv, nil)
}

// dialServer connects a client to addr, closed when the test ends.
func dialServer(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctxFor returns a context bounded for one test.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestCourseCheck replays the course grader's scenario with two clients.
func TestCourseCheck(t *testing.T) {
	addr := startServer(t)
	ctx := ctxFor(t)
	c1, c2 := dialServer(t, addr), dialServer(t, addr)
	puts := []struct {
		c   *client.Client
		key string
		v   float64
		ts  int64
	}{
		{c1, "k1", 0.25, 1}, {c2, "k1", 2.156, 2}, {c1, "k1", 0.35, 3},
		{c2, "k2", 30, 4}, {c1, "k2", 40, 5}, {c1, "k2", 40, 5},
	}
	for _, p := range puts {
		if err := p.c.Put(ctx, p.key, p.v, p.ts); err != nil {
			t.Fatal(err)
		}
	}
	k1 := []client.Point{{1, 0.25}, {2, 2.156}, {3, 0.35}}
	k2 := []client.Point{{4, 30}, {5, 40}}
	checks := []struct {
		key  string
		want map[string][]client.Point
	}{
		{"*", map[string][]client.Point{"k1": k1, "k2": k2}},
		{"k2", map[string][]client.Point{"k2": k2}},
		{"k3", map[string][]client.Point{}},
	}
	for _, ck := range checks {
		for _, c := range []*client.Client{c1, c2} {
			got, err := c.Get(ctx, ck.key)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, ck.want) {
				t.Errorf("Get(%q) = %v, want %v", ck.key, got, ck.want)
			}
		}
	}
}

// TestRoundTripValues checks that what Put sends reads back bit for bit,
// and that GetSeries keeps first-insertion order.
func TestRoundTripValues(t *testing.T) {
	// Variables, so that tenth+fifth is computed in float64
	// (0.30000000000000004), not folded exactly to 0.3 as constants are.
	tenth, fifth := 0.1, 0.2
	c := dialServer(t, startServer(t))
	ctx := ctxFor(t)
	values := []float64{0, math.Copysign(0, -1), 1e16, 1e-5, tenth + fifth, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), -123.456}
	keys := []string{"zeta", "alpha", "ключ", "*"}
	for ki, key := range keys {
		for i, v := range values {
			if err := c.Put(ctx, key, v, int64(len(values)-i)*int64(ki+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	series, err := c.GetSeries(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != len(keys) {
		t.Fatalf("got %d series, want %d", len(series), len(keys))
	}
	for ki, s := range series {
		if s.Key != keys[ki] {
			t.Errorf("series %d is %q, want %q (first-insertion order)", ki, s.Key, keys[ki])
		}
		for pi, p := range s.Points {
			want := values[len(values)-1-pi]
			if math.Float64bits(p.Value) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(p.Value)) {
				t.Errorf("%s point %d = %v, want %v", s.Key, pi, p.Value, want)
			}
		}
	}
}

func TestServerErrorOnRealServer(t *testing.T) {
	// A key of 70 KiB makes a line longer than the default 64 KiB limit:
	// the server answers "wrong command" and the session goes on.
	c := dialServer(t, startServer(t))
	ctx := ctxFor(t)
	long := make([]byte, 70<<10)
	for i := range long {
		long[i] = 'x'
	}
	err := c.Put(ctx, string(long), 1, 1)
	var se *client.ServerError
	if !errors.As(err, &se) || se.Msg != "wrong command" {
		t.Fatalf("Put(long key) = %v, want ServerError wrong command", err)
	}
	if err := c.Put(ctx, "k", 1, 1); err != nil {
		t.Fatalf("Put after an error: %v", err)
	}
}

func TestConcurrentPutsOneClient(t *testing.T) {
	c := dialServer(t, startServer(t))
	ctx := ctxFor(t)
	const goroutines, perG = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			key := "g" + strconv.Itoa(g)
			for i := range perG {
				if err := c.Put(ctx, key, float64(i), int64(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := c.Get(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	for g := range goroutines {
		if n := len(all["g"+strconv.Itoa(g)]); n != perG {
			t.Errorf("key g%d has %d points, want %d", g, n, perG)
		}
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv, err := metricsd.NewServer(metricsd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c := dialServer(t, addr)
	ctx := ctxFor(t)
	if err := c.Put(ctx, "k", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-served
	if err := c.Put(ctx, "k", 1, 1); !errors.Is(err, client.ErrNetwork) {
		t.Fatalf("Put to a stopped server = %v, want ErrNetwork", err)
	}
	// A new server on the same port: the client re-dials by itself.
	addr2 := startServerAt(t, addr)
	if err := c.Put(ctx, "k", 2, 2); err != nil {
		t.Fatalf("Put after restart on %s: %v", addr2, err)
	}
}

// startServerAt is startServer on a given address (skips the test if the
// port was taken meanwhile).
func startServerAt(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port of the stopped server was reused: %v", err)
	}
	srv, err := metricsd.NewServer(metricsd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	return addr
}
