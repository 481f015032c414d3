// Package server serves the metrics protocol over TCP: the accept loop, one
// session goroutine per connection that parses requests from its read
// buffer and answers into a buffered writer, and orderly shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"metricsd/internal/store"
)

// Config is what a Server needs; the root package fills it from its own
// Config.
type Config struct {
	// Storage is where puts go and gets come from. Required.
	Storage store.Storage
	// MaxLineLength bounds a request line's bytes before its "\n".
	MaxLineLength int
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// Metrics records the server's self-metrics; nil records into
	// unregistered metrics that nobody sees.
	Metrics *Metrics

	// MaxConns bounds the open connections; past it a new connection is
	// answered "error\ntoo many connections\n\n" and closed. 0: no bound.
	MaxConns int
	// ReadTimeout bounds how long a started line may stay incomplete.
	// 0: no bound.
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a connection may stay quiet between
	// lines. 0: no bound.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a client; a client that does not
	// read its answers for this long is disconnected. 0: no bound.
	WriteTimeout time.Duration
	// TLS, when set, serves the protocol over TLS with this configuration
	// (set ClientAuth and ClientCAs in it for mutual TLS).
	TLS *tls.Config
}

// handshakeTimeout bounds a TLS handshake when no ReadTimeout is set, so a
// client that connects and sends nothing can't hold a handshake forever.
const handshakeTimeout = 10 * time.Second

// Server accepts connections and runs a session for each.
type Server struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	closing   atomic.Bool
	wg        sync.WaitGroup // one per running session
}

// New checks cfg and returns a Server that is not yet serving.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == nil {
		return nil, errors.New("server: config has no storage")
	}
	if cfg.MaxLineLength <= 0 {
		return nil, fmt.Errorf("server: max line length %d must be positive", cfg.MaxLineLength)
	}
	if cfg.MaxConns < 0 || cfg.ReadTimeout < 0 || cfg.IdleTimeout < 0 || cfg.WriteTimeout < 0 {
		return nil, errors.New("server: limits and timeouts must not be negative")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Server{
		cfg:       cfg,
		log:       log,
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*session]struct{}),
	}, nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Serve accepts connections on ln until Shutdown, and returns
// ErrServerClosed then; any other accept failure that is not temporary is
// returned at once. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = nextBackoff(backoff)
				s.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff) // an accept error storm must not spin the CPU
				continue
			}
			return fmt.Errorf("server: accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		s.start(conn)
	}
}

// nextBackoff doubles the pause after a failed accept, from 10 ms to 1 s, as
// net/http does.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 10 * time.Millisecond
	}
	return min(2*d, time.Second)
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
	ln.Close()
}

// start registers a session for conn and runs it. A connection past
// MaxConns is refused, and one that arrives during shutdown is closed.
func (s *Server) start(conn net.Conn) {
	if s.cfg.TLS != nil {
		conn = tls.Server(conn, s.cfg.TLS)
	}
	sess := newSession(s, conn)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		conn.Close()
		return
	}
	if s.cfg.MaxConns > 0 && len(s.sessions) >= s.cfg.MaxConns {
		s.mu.Unlock()
		s.cfg.Metrics.connsRefused.Inc()
		go s.refuse(conn)
		return
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.cfg.Metrics.connsOpen.Inc()
	go func() {
		defer s.wg.Done()
		defer s.cfg.Metrics.connsOpen.Dec()
		sess.serve()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
}

// replyTooManyConns is the server-condition error of a refused connection.
const replyTooManyConns = "error\ntoo many connections\n\n"

// refuseTimeout bounds the whole refusal of a connection past MaxConns.
const refuseTimeout = time.Second

// refuse tells a connection past MaxConns why it is closed. It runs on its
// own goroutine, bounded by refuseTimeout, so a flood can't stall accepts.
func (s *Server) refuse(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(refuseTimeout))
	if _, err := io.WriteString(conn, replyTooManyConns); err != nil {
		s.log.Debug("refusing connection failed", "remote", conn.RemoteAddr(), "err", err)
	}
}

// Shutdown stops accepting, lets every session answer the requests it has
// already read, closes sessions as they become idle, and waits for them. If
// ctx ends first, the remaining connections are closed and ctx's error is
// returned. Calling it again is harmless.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for sess := range s.sessions {
		sess.interrupt()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			sess.conn.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
}
