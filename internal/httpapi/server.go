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
	"github.com/prometheus/exporter-toolkit/web"

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
	// Storage answers the Graphite API and stores remote_write samples.
	// Required.
	Storage store.Engine
	// Deleter backs POST /api/v1/admin/delete; nil leaves it unrouted.
	Deleter store.Deleter
	// Gatherer is served at /metrics in the Prometheus text format; nil
	// leaves /metrics unrouted.
	Gatherer prometheus.Gatherer
	// Registerer receives the HTTP server's own metrics (requests by
	// handler and code, durations); nil keeps them unexported.
	Registerer prometheus.Registerer
	// Ready backs /readyz: nil error means ready. A nil func is always
	// ready.
	Ready func() error
	// Pprof mounts net/http/pprof under /debug/pprof/. Like every admin
	// route, only behind access control or on a loopback Addr.
	Pprof bool
	// Addr is the address the API will listen on. Admin routes (pprof,
	// /api/v1/admin/) are mounted without access control only when it is
	// a loopback one.
	Addr string
	// WebConfigFile is an exporter-toolkit web configuration file (TLS,
	// client CA, basic-auth users with bcrypt hashes) applied to every
	// request; empty serves plain HTTP without authentication.
	WebConfigFile string
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
	access  access
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
	acc, err := newAccess(cfg.WebConfigFile, cfg.Addr)
	if err != nil {
		return nil, err
	}
	mux, err := newMux(cfg, acc)
	if err != nil {
		return nil, err
	}
	return &Server{
		log:    cfg.Logger,
		access: acc,
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
// It closes ln when it returns. With a web configuration file every
// request goes through exporter-toolkit's web.Serve, which re-reads the
// file on each request and each TLS handshake, as Prometheus does.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("http listening", "addr", ln.Addr().String(), "tls", s.access.tls, "access_control", s.access.controlled)
	var err error
	if s.access.webConfigFile == "" {
		err = s.http.Serve(ln)
	} else {
		path := s.access.webConfigFile
		err = web.Serve(ln, s.http, &web.FlagConfig{WebConfigFile: &path}, s.log.With("component", "exporter-toolkit"))
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpapi: serve on %s: %w", ln.Addr(), err)
	}
	return err
}

// AccessControlled reports whether the web configuration file asks every
// request for a password or a verified client certificate.
func (s *Server) AccessControlled() bool { return s.access.controlled }

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
