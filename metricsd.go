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

	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/cluster"
	"metricsd/internal/durable"
	"metricsd/internal/server"
	"metricsd/internal/store"
)

// Server is a metricsd server: its storage, its protocol listener and,
// when configured, its HTTP API and Graphite listeners.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  store.Storage
	engine *durable.Engine // nil when the store is memory only
	nodes  *cluster.Engine // nil unless the server is a cluster node
	proto  *server.Server
	side   *side // the HTTP API and Graphite listeners
	retain *retainer

	mu   sync.Mutex
	addr net.Addr
}

// NewServer checks cfg and builds a Server that is not yet listening. With
// a DataDir it first recovers the directory (see NewServerContext).
func NewServer(cfg Config) (*Server, error) {
	return NewServerContext(context.Background(), cfg)
}

// NewServerContext is NewServer whose recovery of cfg.DataDir, which can
// take a while for a large log, stops when ctx ends (a signal during
// startup).
func NewServerContext(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	reg := newRegistry()
	var (
		st     store.Storage
		engine *durable.Engine
		nodes  *cluster.Engine
	)
	if len(cfg.Cluster) > 0 {
		st, nodes, err = openCluster(ctx, cfg, log)
	} else {
		st, engine, err = openStorage(cfg, log, reg)
	}
	if err != nil {
		return nil, err
	}
	proto, err := server.New(server.Config{
		Storage:       st,
		MaxLineLength: cfg.MaxLineLength,
		Logger:        log,
		MaxConns:      cfg.MaxConns,
		ReadTimeout:   cfg.ReadTimeout,
		IdleTimeout:   cfg.IdleTimeout,
		WriteTimeout:  cfg.WriteTimeout,
		TLS:           tlsCfg,
		Metrics:       server.NewMetrics(reg),
	})
	if err != nil {
		s := &Server{engine: engine, nodes: nodes}
		return nil, errors.Join(fmt.Errorf("metricsd: %w", err), s.closeStorage())
	}
	s := &Server{cfg: cfg, log: log, store: st, engine: engine, nodes: nodes, proto: proto}
	if s.side, err = newSide(cfg, log, st, reg, s.readiness); err != nil {
		return nil, errors.Join(err, s.closeStorage())
	}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	s.retain = startRetainer(cfg.Retention, st, log)
	return s, nil
}

// recover recovers the durable engine's directory, if there is one. The
// HTTP API is up first, so that /healthz answers and /readyz says
// "recovering, N points loaded" while a long log replays, instead of the
// port being closed (which a liveness probe would take for a dead process).
func (s *Server) recover(ctx context.Context) error {
	if s.engine == nil {
		return nil
	}
	if err := s.side.startHTTP(); err != nil {
		return errors.Join(err, s.closeStorage())
	}
	s.log.Info("metricsd recovering", "data_dir", s.cfg.DataDir, "fsync", s.cfg.Fsync)
	if err := s.engine.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownGrace())
		defer cancel()
		return errors.Join(fmt.Errorf("metricsd: %w", err), s.side.shutdown(sctx), s.closeStorage())
	}
	return nil
}

// openStorage returns the in-memory store, or with a DataDir the durable
// engine, not yet recovered (see recover).
func openStorage(cfg Config, log *slog.Logger, reg prometheus.Registerer) (store.Storage, *durable.Engine, error) {
	if cfg.DataDir == "" {
		return store.NewMemoryWith(cfg.limits()), nil, nil
	}
	dcfg, err := cfg.durableConfig(log)
	if err != nil {
		return nil, nil, err
	}
	dcfg.Registerer = reg
	engine, err := durable.New(dcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("metricsd: %w", err)
	}
	return engine, engine, nil
}

// Ready reports whether the server's storage takes puts: nil when it does
// (always, in memory); with a DataDir, the durable engine's reason when
// not (recovering, failed disk, closed); a cluster node's until it
// leaves. For a readiness endpoint.
func (s *Server) Ready() error {
	if s.nodes != nil {
		return s.nodes.Ready()
	}
	if s.engine == nil {
		return nil
	}
	return s.engine.Ready()
}

// closeStorage stops the retention loop and closes the durable engine, if
// any: it commits what is pending, writes the final snapshot and releases
// the data directory.
func (s *Server) closeStorage() error {
	s.retain.stop()
	if s.nodes != nil {
		return s.nodes.Close()
	}
	if s.engine == nil {
		return nil
	}
	if err := s.engine.Close(); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	return nil
}

// ListenAndServe binds cfg.Addr and serves on it until Shutdown, after which
// it returns nil. A bind failure is returned at once.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return errors.Join(fmt.Errorf("metricsd: listen on %s: %w", s.cfg.Addr, err), s.closeStorage())
	}
	return s.Serve(ln)
}

// Serve serves the protocol on ln until Shutdown, after which it returns
// nil. It closes ln when it returns. The first Serve also binds and serves
// HTTPAddr and GraphiteAddr when they are set; if one can't be bound, Serve
// returns that error at once (and closes the storage).
func (s *Server) Serve(ln net.Listener) error {
	if err := s.side.listen(); err != nil {
		ln.Close()
		return errors.Join(err, s.closeStorage())
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	s.log.Info("metricsd listening", "addr", ln.Addr().String(), "tls", s.cfg.TLSCertFile != "")
	s.warnIfExposed(ln.Addr())
	s.side.serve()
	err := s.proto.Serve(ln)
	if errors.Is(err, server.ErrServerClosed) {
		return nil
	}
	return err
}

// warnIfExposed says so when plain TCP is served beyond the loopback
// interface: the protocol has no authentication of its own.
func (s *Server) warnIfExposed(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() || s.cfg.TLSCertFile != "" {
		return
	}
	s.log.Warn("serving plain TCP on a non-loopback address: anyone who can reach it can read and write metrics; use TLS (--tls-cert, --tls-key, --tls-client-ca) or bind 127.0.0.1", "addr", addr.String())
}

// Run serves cfg.Addr until ctx ends, then shuts down gracefully within
// cfg.ShutdownGrace. Connections still busy when the grace period ends (a
// client that does not read its answers, a long /render) are dropped with
// a warning, and Run returns nil: that is the orderly end a grace period
// promises, not a failure (issue #11.8). A bind failure, or a failure to
// close the storage, is returned.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return errors.Join(fmt.Errorf("metricsd: listen on %s: %w", s.cfg.Addr, err), s.closeStorage())
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	s.log.Info("metricsd shutting down", "cause", context.Cause(ctx))
	grace := s.cfg.shutdownGrace()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	dropped, err := s.shutdown(sctx)
	if dropped != nil {
		s.log.Warn("shutdown grace period ended: connections still busy were dropped", "grace", grace, "err", dropped)
	}
	if err != nil {
		return err
	}
	return <-served
}

// Addr is the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections, lets sessions answer what they
// have already read, closes them, and waits until they are gone or ctx
// ends; then it stops the Graphite receiver (storing the lines it has
// read) and the HTTP API (finishing requests in flight). /readyz answers
// 503 from the start of Shutdown. Then, with a DataDir, it closes the durable engine: pending puts
// are committed, a final snapshot is written and the directory unlocked.
// It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	dropped, err := s.shutdown(ctx)
	return errors.Join(dropped, err)
}

// shutdown is Shutdown, telling apart why it did not end cleanly: dropped
// when ctx ended while connections or requests were still busy (they were
// closed: ctx's error, with the listener that had them), err for anything
// else, such as a storage that failed to close.
func (s *Server) shutdown(ctx context.Context) (dropped, err error) {
	s.side.markStopping() // /readyz says so while sessions drain
	var drain []error
	if err := s.proto.Shutdown(ctx); err != nil {
		drain = append(drain, fmt.Errorf("metricsd: %w", err))
	}
	// The Graphite receiver writes and the HTTP API reads: both stop
	// before the storage closes.
	if err := s.side.shutdown(ctx); err != nil {
		drain = append(drain, err)
	}
	var fail []error
	for _, e := range drain {
		if ctx.Err() != nil && errors.Is(e, ctx.Err()) {
			dropped = errors.Join(dropped, e)
		} else {
			fail = append(fail, e)
		}
	}
	// Every session is gone even when ctx ended first (the rest were
	// closed), so no put can reach the engine any more.
	if err := errors.Join(append(fail, s.closeStorage())...); err != nil {
		return dropped, err
	}
	s.log.Info("metricsd stopped")
	return dropped, nil
}

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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}
