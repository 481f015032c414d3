// Package httpapi is metricsd's HTTP side: the Graphite-web API that
// Grafana's Graphite data source uses (/metrics/find, /render,
// /metrics/index.json), the self-metrics in Prometheus format (/metrics),
// health (/healthz, /readyz) and, when enabled, net/http/pprof.
//
// The Graphite semantics and encodings live in internal/graphite; this
// package maps requests to them and errors to status codes: a bad query is
// a 400 with a message, never a 500.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/events"
	"metricsd/internal/graphiteweb"
	"metricsd/internal/store"
)

// Timeouts of the HTTP server. A render of a large range can take a while
// to stream, and a CPU profile runs 30 s by default, so writes get minutes;
// headers and request bodies (small forms) must arrive quickly.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Config is what a Server needs; the root package fills it.
type Config struct {
	// Storage answers the Graphite API. Required.
	Storage store.Storage
	// Gatherer is served at /metrics in the Prometheus text format; nil
	// leaves /metrics unrouted.
	Gatherer prometheus.Gatherer
	// Registerer receives the HTTP server's own metrics (requests by
	// handler and code, durations); nil keeps them unexported.
	Registerer prometheus.Registerer
	// Ready backs /readyz: nil error means ready. A nil func is always
	// ready.
	Ready func() error
	// Pprof mounts net/http/pprof under /debug/pprof/.
	Pprof bool
	// Logger receives listen/stop lines, and server-side request failures;
	// nil discards them.
	Logger *slog.Logger
	// GraphiteSchemas give each series its step on /render; nil uses the
	// default rule (see graphiteweb.Schemas).
	GraphiteSchemas *graphiteweb.Schemas
	// GraphiteLimits bound each /render and /metrics/find.
	GraphiteLimits graphiteweb.Limits
	// Now is the clock of relative times ("-1h", "now"); nil means
	// time.Now.
	Now func() time.Time
	// Events holds the Graphite events (annotations) that POST /events/
	// adds and /events/get_data reads; nil means a fresh in-memory store.
	// The caller closes it.
	Events *events.Store
}

// Server serves the HTTP API.
type Server struct {
	log     *slog.Logger
	http    *http.Server
	stopped atomic.Bool // "http stopped" was logged
}

// New checks cfg and returns a Server that is not yet serving.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == nil {
		return nil, errors.New("httpapi: config has no storage")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	if cfg.Events == nil {
		cfg.Events = events.NewMemory()
	}
	mux, err := newMux(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{
		log: cfg.Logger,
		http: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		},
	}, nil
}

// Serve serves HTTP on ln until Shutdown, then returns http.ErrServerClosed.
// It closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("http listening", "addr", ln.Addr().String())
	err := s.http.Serve(ln)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpapi: serve on %s: %w", ln.Addr(), err)
	}
	return err
}

// Shutdown stops accepting, lets requests in flight finish, and returns
// when they have, or closes what is left when ctx ends and returns its
// error. Calling it again is harmless.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.http.Shutdown(ctx); err != nil {
		s.http.Close()
		return fmt.Errorf("httpapi: shutdown: %w", err)
	}
	if s.stopped.CompareAndSwap(false, true) {
		s.log.Info("http stopped")
	}
	return nil
}
