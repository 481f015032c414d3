package client

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"
)

// handler scripts one accepted connection of a fakeServer. id is the
// connection's number, from 1.
type handler func(fs *fakeServer, id int, nc net.Conn, r *bufio.Reader)

// received is one request line a fakeServer read.
type received struct {
	conn int
	line string
}

// fakeServer is a scripted TCP server on 127.0.0.1: its i-th accepted
// connection is run by handlers[i]; connections past the list are closed.
type fakeServer struct {
	t        *testing.T
	ln       net.Listener
	handlers []handler

	mu   sync.Mutex
	recv []received
	wg   sync.WaitGroup
}

// newFakeServer starts a fakeServer; it stops when the test ends.
func newFakeServer(t *testing.T, handlers ...handler) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{t: t, ln: ln, handlers: handlers}
	fs.wg.Add(1)
	go fs.accept()
	t.Cleanup(func() {
		ln.Close()
		fs.wg.Wait()
	})
	return fs
}

// addr is the address to dial.
func (fs *fakeServer) addr() string { return fs.ln.Addr().String() }

// accept runs the handlers on accepted connections until the listener closes.
func (fs *fakeServer) accept() {
	defer fs.wg.Done()
	for id := 1; ; id++ {
		nc, err := fs.ln.Accept()
		if err != nil {
			return
		}
		if id > len(fs.handlers) {
			nc.Close()
			continue
		}
		fs.wg.Add(1)
		go func() {
			defer fs.wg.Done()
			defer nc.Close()
			fs.handlers[id-1](fs, id, nc, bufio.NewReader(nc))
		}()
	}
}

// readRequest reads one request line and records it; ok is false at the
// end of the stream.
func (fs *fakeServer) readRequest(id int, r *bufio.Reader) (string, bool) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false
	}
	fs.mu.Lock()
	fs.recv = append(fs.recv, received{conn: id, line: line})
	fs.mu.Unlock()
	return line, true
}

// received returns the request lines read so far.
func (fs *fakeServer) received() []received {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]received(nil), fs.recv...)
}

// answer returns a handler that answers its first request with first (and
// then closes the connection if closeAfter), and every later one "ok\n\n".
func answer(first string, closeAfter bool) handler {
	return func(fs *fakeServer, id int, nc net.Conn, r *bufio.Reader) {
		if _, ok := fs.readRequest(id, r); !ok {
			return
		}
		if _, err := io.WriteString(nc, first); err != nil || closeAfter {
			return
		}
		serveOK(fs, id, nc, r)
	}
}

// serveOK answers every request "ok\n\n" until the client goes away.
func serveOK(fs *fakeServer, id int, nc net.Conn, r *bufio.Reader) {
	for {
		if _, ok := fs.readRequest(id, r); !ok {
			return
		}
		if _, err := io.WriteString(nc, "ok\n\n"); err != nil {
			return
		}
	}
}

// stall returns a handler that reads one request, reports it on got, and
// never answers: it waits for the client to close the connection.
func stall(got chan<- struct{}) handler {
	return func(fs *fakeServer, id int, nc net.Conn, r *bufio.Reader) {
		if _, ok := fs.readRequest(id, r); !ok {
			return
		}
		got <- struct{}{}
		io.Copy(io.Discard, r)
	}
}
