package loadgen

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"metricsd/internal/lines"
	"metricsd/internal/protocol"
	"metricsd/internal/server"
	"metricsd/internal/store"
)

// testTimeout bounds anything a test waits for.
const testTimeout = 10 * time.Second

// listen opens a listener on an ephemeral loopback port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startServer runs a real metricsd protocol server over st until the test
// ends and returns its address.
func startServer(t testing.TB, st store.Engine) string {
	t.Helper()
	srv, err := server.New(server.Config{Storage: st, MaxLineLength: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// startLineServer runs a server that calls handle for every line each
// connection sends (with the "\n") and writes back what it returns. It
// stops, closing its connections, when the test ends.
func startLineServer(t testing.TB, handle func(line []byte) []byte) string {
	t.Helper()
	ln := listen(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { serveLines(conn, handle) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveLines answers each line of conn with handle's reply, until the
// connection ends.
func serveLines(conn net.Conn, handle func([]byte) []byte) {
	defer conn.Close()
	r := lines.NewReader(conn, 4096, 4096)
	for {
		line, err := r.Next()
		if err != nil {
			return
		}
		if reply := handle(line); len(reply) > 0 {
			if _, err := conn.Write(reply); err != nil {
				return
			}
		}
	}
}

// graphiteInto returns a line handler that stores Graphite plaintext lines
// into st and answers nothing: a stand-in for a Graphite port.
func graphiteInto(t testing.TB, st store.Engine) func([]byte) []byte {
	return func(line []byte) []byte {
		var tok [4][]byte
		n, err := protocol.Split(line, tok[:])
		if err != nil || n != 3 {
			t.Errorf("graphite line %q: %d tokens, %v", line, n, err)
			return nil
		}
		v, err1 := protocol.ParseFloat(tok[1])
		ts, err2 := protocol.ParseInt(tok[2])
		if err := errors.Join(err1, err2); err != nil {
			t.Errorf("graphite line %q: %v", line, err)
			return nil
		}
		if err := st.Put(tok[0], store.Point{Timestamp: ts, Value: v}); err != nil {
			t.Errorf("put: %v", err)
		}
		return nil
	}
}

// testConfig is a small bounded run against addr.
func testConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Connections = 4
	cfg.Pipeline = 8
	cfg.Requests = 2000
	cfg.Duration = testTimeout
	cfg.Keys = 50
	cfg.Start = 1_000_000
	return cfg
}

// run runs cfg under the test's timeout.
func run(t *testing.T, cfg Config) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	return Run(ctx, cfg)
}
