// Package metricsd is a metrics server: clients put numeric measurements over
// a small text protocol on TCP and get them back exactly.
//
// RunServer is the one-call API that the course's run_server(host, port)
// describes; Server, built from a Config, is the embeddable form used by the
// command and by tests.
package metricsd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"metricsd/internal/server"
	"metricsd/internal/store"
)

// Server is a metricsd server: its storage and its protocol listener.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Storage
	proto *server.Server

	mu   sync.Mutex
	addr net.Addr
}

// NewServer checks cfg and builds a Server that is not yet listening.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := store.NewMemory()
	proto, err := server.New(server.Config{
		Storage:       st,
		MaxLineLength: cfg.MaxLineLength,
		Logger:        log,
	})
	if err != nil {
		return nil, fmt.Errorf("metricsd: %w", err)
	}
	return &Server{cfg: cfg, log: log, store: st, proto: proto}, nil
}

// ListenAndServe binds cfg.Addr and serves on it until Shutdown, after which
// it returns nil. A bind failure is returned at once.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("metricsd: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves the protocol on ln until Shutdown, after which it returns
// nil. It closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	s.log.Info("metricsd listening", "addr", ln.Addr().String())
	err := s.proto.Serve(ln)
	if errors.Is(err, server.ErrServerClosed) {
		return nil
	}
	return err
}

// Addr is the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections, lets sessions answer what they
// have already read, closes them, and waits until they are gone or ctx
// ends. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.proto.Shutdown(ctx); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	s.log.Info("metricsd stopped")
	return nil
}

// shutdownGrace bounds how long RunServer waits for sessions after a signal.
const shutdownGrace = 10 * time.Second

// RunServer serves the metrics protocol on host:port, in memory, until
// SIGINT or SIGTERM, then shuts down gracefully and returns nil. It returns
// an error at once when the address can't be bound. It is the Go
// counterpart of the course's run_server(host, port).
func RunServer(host string, port int) error {
	cfg := DefaultConfig()
	cfg.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("metricsd: listen on %s: %w", cfg.Addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return <-served
}
