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
	"time"

	"metricsd/internal/store"
	"metricsd/internal/tcpserve"
)

// Config is what a Server needs; the root package fills it from its own
// Config.
type Config struct {
	// Storage is where puts go and gets come from. Required.
	Storage store.Engine
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
	cfg   Config
	log   *slog.Logger
	conns *tcpserve.Group // accept loops and running sessions
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
	s := &Server{cfg: cfg, log: log}
	s.conns = tcpserve.New(tcpserve.Config{
		NewSession: s.newSession,
		MaxConns:   cfg.MaxConns,
		Refuse: func(conn net.Conn) {
			cfg.Metrics.connsRefused.Inc()
			go s.refuse(conn)
		},
		Started: cfg.Metrics.connsOpen.Inc,
		Ended:   cfg.Metrics.connsOpen.Dec,
		Logger:  log,
	})
	return s, nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Serve accepts connections on ln until Shutdown, and returns
// ErrServerClosed then; any other accept failure that is not temporary is
// returned at once. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	err := s.conns.Serve(ln)
	if errors.Is(err, tcpserve.ErrClosed) {
		return ErrServerClosed
	}
	return fmt.Errorf("server: accept on %s: %w", ln.Addr(), err)
}

// newSession wraps conn in TLS when the server has a TLS configuration;
// the session completes the handshake itself, within its read timeout.
func (s *Server) newSession(conn net.Conn) tcpserve.Session {
	if s.cfg.TLS != nil {
		conn = tls.Server(conn, s.cfg.TLS)
	}
	return newSession(s, conn)
}

// replyTooManyConns is the server-condition error of a refused connection.
const replyTooManyConns = "error\ntoo many connections\n\n"

// refuseTimeout bounds the whole refusal of a connection past MaxConns.
const refuseTimeout = time.Second

// refuse tells a connection past MaxConns why it is closed. It runs on its
// own goroutine, bounded by refuseTimeout, so a flood can't stall accepts.
// Over TLS the reply follows the handshake, within the same bound.
func (s *Server) refuse(conn net.Conn) {
	if s.cfg.TLS != nil {
		conn = tls.Server(conn, s.cfg.TLS)
	}
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
	if err := s.conns.Shutdown(ctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
