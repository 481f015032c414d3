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

	"metricsd/internal/durable"
	"metricsd/internal/server"
	"metricsd/internal/store"
)

// Server is a metricsd server: its storage, its protocol listener and,
// when configured, its HTTP API and Graphite listeners.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Engine // in memory, or durable with a DataDir
	proto *server.Server
	side  *side // the HTTP API and Graphite listeners

	// start is the first Serve's start-up (see startUp), done once; a
	// Shutdown before it marks it done instead, and one during it cancels
	// it through stop and waits for it.
	start    sync.Once
	startErr error
	stop     context.Context
	cancel   context.CancelFunc

	mu   sync.Mutex
	addr net.Addr
}

// NewServer checks cfg and builds a Server. It does no I/O: it neither
// listens nor reads the data directory; Serve and Run do, in order (see
// Serve).
func NewServer(cfg Config) (*Server, error) {
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
	st, err := newStorage(cfg, log, reg)
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
		return nil, fmt.Errorf("metricsd: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, proto: proto}
	s.stop, s.cancel = context.WithCancel(context.Background())
	if s.side, err = newSide(cfg, log, st, reg, s.readiness); err != nil {
		return nil, err
	}
	return s, nil
}

// NewServerContext is NewServer. Building does no I/O any more, so ctx is
// not used: the context of Run stops a long recovery, and Shutdown stops
// one under Serve.
//
// Deprecated: use NewServer.
func NewServerContext(_ context.Context, cfg Config) (*Server, error) {
	return NewServer(cfg)
}

// newStorage returns the in-memory engine, or with a DataDir the durable
// engine; neither has touched the disk yet (see startUp).
func newStorage(cfg Config, log *slog.Logger, reg prometheus.Registerer) (store.Engine, error) {
	if len(cfg.Cluster) > 0 {
		return newCluster(cfg, log)
	}
	if cfg.DataDir == "" {
		return store.New(store.Config{Limits: cfg.limits(), Logger: log}), nil
	}
	dcfg := cfg.durableConfig(log)
	dcfg.Registerer = reg
	engine, err := durable.New(dcfg)
	if err != nil {
		return nil, fmt.Errorf("metricsd: %w", err)
	}
	return engine, nil
}

// errServerClosed is the start-up's error when Shutdown came first.
var errServerClosed = errors.New("metricsd: server closed")

// startUp is what the first Serve does before it accepts a protocol
// connection, in this order: the HTTP API is served first, with /readyz
// answering 503 ("recovering, N points loaded") so that a liveness probe
// sees a live process during a long recovery; then the storage starts (the
// durable engine recovers its directory; ctx or Shutdown stops that); then
// the Graphite listener is bound. Later calls return the first one's
// error.
func (s *Server) startUp(ctx context.Context) error {
	s.start.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.stop, cancel)()
		s.startErr = s.startSteps(ctx)
	})
	return s.startErr
}

func (s *Server) startSteps(ctx context.Context) error {
	if err := s.side.startHTTP(); err != nil {
		return err
	}
	if s.cfg.DataDir != "" {
		s.log.Info("metricsd recovering", "data_dir", s.cfg.DataDir, "fsync", s.cfg.Fsync.String())
	}
	if err := s.store.Start(ctx); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	// The Graphite events are kept with the data: loaded once it is
	// recovered.
	if err := s.side.openEvents(); err != nil {
		return err
	}
	return s.side.listen()
}

// Ready reports whether the server's storage takes puts: nil when it does
// (always, in memory, once started); with a DataDir, the durable engine's
// reason when not (recovering, failed disk, closed). For a readiness
// endpoint.
func (s *Server) Ready() error { return s.store.Ready() }

// closeStorage closes the storage: it stops the retention loop and, with
// a DataDir, commits what is pending, writes the final snapshot and
// releases the data directory; it also closes the Graphite events (kept
// with the data). Shutdown is its one caller.
func (s *Server) closeStorage() error {
	evErr := s.side.closeEvents()
	if evErr != nil {
		evErr = fmt.Errorf("metricsd: %w", evErr)
	}
	if err := s.store.Close(); err != nil {
		return errors.Join(evErr, fmt.Errorf("metricsd: %w", err))
	}
	return evErr
}

// ListenAndServe binds cfg.Addr and serves on it until Shutdown, after which
// it returns nil. A bind failure is returned at once.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return s.failed(fmt.Errorf("metricsd: listen on %s: %w", s.cfg.Addr, err))
	}
	return s.Serve(ln)
}

// failed shuts the server down after err, which ended Serve before it was
// served, and returns err with whatever the shutdown reported.
func (s *Server) failed(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownGrace())
	defer cancel()
	return errors.Join(err, s.Shutdown(ctx))
}

// Serve serves the protocol on ln until Shutdown, after which it returns
// nil. It closes ln when it returns. The first Serve starts the server
// (see startUp: the HTTP API, then recovery, then the Graphite listener)
// before it accepts on ln; if that fails, Serve shuts the server down and
// returns the error.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(context.Background(), ln)
}

// serve is Serve, whose start-up (a recovery) ends with ctx.
func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	if err := s.startUp(ctx); err != nil {
		ln.Close()
		switch {
		case errors.Is(err, errServerClosed) || s.stop.Err() != nil:
			return nil // Shutdown stopped the start-up and does the rest
		case ctx.Err() != nil:
			return s.failed(nil) // Run's context ended: an orderly stop
		}
		return s.failed(err)
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
// cfg.ShutdownGrace. A bind failure is returned at once; so is a failed
// recovery, and ctx ending during recovery stops it. Connections still
// busy when the grace period ends (a client that does not read its
// answers, a long /render) are dropped with a warning, and Run returns
// nil: that is the orderly end a grace period promises, not a failure
// (issue #11.8). A failure to close the storage is returned.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return s.failed(fmt.Errorf("metricsd: listen on %s: %w", s.cfg.Addr, err))
	}
	served := make(chan error, 1)
	go func() { served <- s.serve(ctx, ln) }()
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
	// A start-up under way (a recovery) is cancelled and waited for; one
	// that has not begun never will.
	s.cancel()
	s.start.Do(func() { s.startErr = errServerClosed })
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
