// Package tcpserve runs accept loops and tracks their sessions for an
// orderly shutdown. It is the part the protocol server and the Graphite
// receiver share; what a connection means is left to their Session.
//
// The shape follows net/http's Server.Serve and Shutdown: the accept loop
// backs off on temporary errors (10 ms doubling to 1 s) and ends on
// net.ErrClosed; Shutdown closes the listeners, interrupts every session so
// that it finishes what it has already read, waits, and force-closes what
// is left when its context ends.
package tcpserve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Session is one connection's work. A Group calls Serve on its own
// goroutine, and Interrupt and Close from others while Serve runs.
type Session interface {
	// Serve runs the session until the peer leaves, the connection fails
	// or the session is interrupted. The session owns its connection and
	// closes it before returning.
	Serve()
	// Interrupt asks Serve to stop reading, finish what it has already
	// buffered and return (typically by setting the read deadline to now).
	// It may be called more than once.
	Interrupt()
	// Close closes the connection so that Serve returns at once; Shutdown
	// calls it when its context ends first.
	Close() error
}

// Config is what a Group needs.
type Config struct {
	// NewSession builds the session of an accepted connection. Required.
	// It is called with the Group's lock held, so it must only build the
	// session, and it must return a comparable value (a pointer).
	NewSession func(net.Conn) Session
	// MaxConns bounds the running sessions; a connection past it goes to
	// Refuse instead. 0: no bound.
	MaxConns int
	// Refuse takes a connection refused by MaxConns and must close it. It
	// runs on the accept loop, so anything slow belongs on a goroutine.
	// nil closes the connection.
	Refuse func(net.Conn)
	// Started is called when a session has taken its MaxConns slot, just
	// before it runs; Ended when it has returned and given the slot back.
	// A gauge kept by them never shows a slot free that is not. Optional.
	Started, Ended func()
	// Logger receives a warning for each temporary accept failure; nil
	// discards it.
	Logger *slog.Logger
	// Name prefixes the Group's log messages ("graphite" gives "graphite
	// accept failed; retrying"); empty for none.
	Name string
}

// ErrClosed is returned by Serve after Shutdown, or when its listener was
// closed from outside.
var ErrClosed = errors.New("tcpserve: closed")

// Group runs the accept loops of any number of listeners and the sessions
// of their connections.
type Group struct {
	cfg       Config
	log       *slog.Logger
	acceptMsg string
	sleep     func(time.Duration) bool // pauses after an accept error; tests replace it

	mu        sync.Mutex
	done      chan struct{} // closed by the first Shutdown; mu must be held to close it
	listeners map[net.Listener]struct{}
	sessions  map[Session]struct{}
	wg        sync.WaitGroup // one per running session
}

// New returns a Group that serves nothing yet.
func New(cfg Config) *Group {
	g := &Group{
		cfg:       cfg,
		log:       cfg.Logger,
		acceptMsg: "accept failed; retrying",
		done:      make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[Session]struct{}),
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name != "" {
		g.acceptMsg = cfg.Name + " " + g.acceptMsg
	}
	g.sleep = g.pause
	return g
}

// Serve accepts connections on ln and starts a session for each, until
// Shutdown or until ln is closed, and returns ErrClosed then. Any other
// accept error that is not temporary is returned as Accept gave it.
// Serve closes ln when it returns.
func (g *Group) Serve(ln net.Listener) error {
	if !g.track(ln) {
		ln.Close()
		return ErrClosed
	}
	defer g.untrack(ln)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err == nil {
			backoff = 0
			g.start(conn)
			continue
		}
		if g.closing() || errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		if !temporary(err) {
			return err
		}
		backoff = nextBackoff(backoff)
		g.log.Warn(g.acceptMsg, "err", err, "backoff", backoff)
		if !g.sleep(backoff) {
			return ErrClosed
		}
	}
}

// temporary reports whether an accept error may pass: a timeout, or running
// out of file descriptors, which closing a connection cures.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// nextBackoff doubles the pause after a failed accept, from 10 ms to 1 s, as
// net/http does, so that an error storm cannot spin the CPU.
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, 10*time.Millisecond), time.Second)
}

// pause waits d, or less if Shutdown starts; false means it did.
func (g *Group) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.done:
		return false
	}
}

// closing reports whether Shutdown has started.
func (g *Group) closing() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// track registers ln so that Shutdown closes it; false means Shutdown has
// started.
func (g *Group) track(ln net.Listener) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing() {
		return false
	}
	g.listeners[ln] = struct{}{}
	return true
}

func (g *Group) untrack(ln net.Listener) {
	g.mu.Lock()
	delete(g.listeners, ln)
	g.mu.Unlock()
	ln.Close()
}

// start runs a session for conn. A connection that arrives during Shutdown
// is closed, and one past MaxConns is refused.
func (g *Group) start(conn net.Conn) {
	g.mu.Lock()
	if g.closing() {
		g.mu.Unlock()
		conn.Close()
		return
	}
	if g.cfg.MaxConns > 0 && len(g.sessions) >= g.cfg.MaxConns {
		g.mu.Unlock()
		if g.cfg.Refuse != nil {
			g.cfg.Refuse(conn)
		} else {
			conn.Close()
		}
		return
	}
	s := g.cfg.NewSession(conn)
	g.sessions[s] = struct{}{}
	g.wg.Add(1)
	g.mu.Unlock()
	if g.cfg.Started != nil {
		g.cfg.Started()
	}
	go g.run(s)
}

// run serves s, then gives its slot back.
func (g *Group) run(s Session) {
	defer g.wg.Done()
	s.Serve()
	g.mu.Lock()
	delete(g.sessions, s)
	g.mu.Unlock()
	if g.cfg.Ended != nil {
		g.cfg.Ended()
	}
}

// Len returns the number of running sessions.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// Shutdown stops every accept loop, interrupts every session and waits for
// them to return. If ctx ends first, it closes the sessions still running,
// waits for them, and returns ctx's error. Calling it again, even
// concurrently, is harmless: every call waits for the sessions.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.closing() {
		close(g.done)
		for ln := range g.listeners {
			ln.Close()
		}
		for s := range g.sessions {
			s.Interrupt()
		}
	}
	g.mu.Unlock()

	ended := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for s := range g.sessions {
			s.Close()
		}
		g.mu.Unlock()
		<-ended
		return ctx.Err()
	}
}
