package metricsd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"metricsd/internal/buildinfo"
	"metricsd/internal/events"
	"metricsd/internal/graphite"
	"metricsd/internal/httpapi"
	"metricsd/internal/store"
)

// errShuttingDown is /readyz's reason once Shutdown has begun, so that a
// load balancer stops sending work while the server drains.
var errShuttingDown = errors.New("metricsd: shutting down")

// newRegistry returns the server's own Prometheus registry (never the
// global default one, so that two servers in one process don't collide),
// with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildinfo.Read().Collector(),
	)
	return reg
}

// side is what a Server serves next to the protocol: the HTTP API
// (HTTPAddr) and the Graphite plaintext receiver (GraphiteAddr), each nil
// when its address is empty. They start with the first Serve and stop in
// Shutdown.
type side struct {
	cfg      Config
	log      *slog.Logger
	http     *httpapi.Server
	graphite *graphite.Receiver
	events   *events.Store // the HTTP API's Graphite events; nil when HTTP is off

	mu                     sync.Mutex
	listened, stopping     bool
	started                bool         // some listener is served: shutdown stops them
	httpLn, graphiteLn     net.Listener // bound by listen, not yet served
	httpAddr, graphiteAddr net.Addr
	udp                    graphiteUDP    // the Graphite UDP socket, when configured
	wg                     sync.WaitGroup // one per running listener
}

// newSide builds the configured side listeners over st, with their
// metrics in reg; ready backs /readyz.
func newSide(cfg Config, log *slog.Logger, st store.Engine, reg *prometheus.Registry, ready func() error) (*side, error) {
	s := &side{cfg: cfg, log: log}
	if err := httpapi.RegisterStoreMetrics(reg, st); err != nil {
		return nil, fmt.Errorf("metricsd: %w", err)
	}
	if cfg.GraphiteAddr != "" || cfg.GraphiteUDPAddr != "" {
		tlsCfg, err := cfg.graphiteTLSConfig()
		if err != nil {
			return nil, err
		}
		rcv, err := graphite.NewReceiver(graphite.ReceiverConfig{
			Storage:       st,
			MaxLineLength: cfg.MaxLineLength,
			Logger:        log,
			Registerer:    reg,
			MaxConns:      cfg.MaxConns,
			IdleTimeout:   cfg.IdleTimeout,
			TLS:           tlsCfg,
		})
		if err != nil {
			return nil, fmt.Errorf("metricsd: %w", err)
		}
		s.graphite = rcv
	}
	if cfg.HTTPAddr != "" {
		schemas, err := cfg.graphiteSchemas()
		if err != nil {
			return nil, err
		}
		evs := newEvents(cfg, log)
		del, _ := st.(store.Deleter) // both engines delete; the admin call needs it
		api, err := httpapi.New(httpapi.Config{
			GraphiteSchemas: schemas,
			GraphiteLimits:  cfg.graphiteLimits(),
			Storage:         st,
			Deleter:         del,
			Gatherer:        reg,
			Registerer:      reg,
			Ready:           ready,
			Pprof:           cfg.Pprof,
			Logger:          log,
			Events:          evs,
			Addr:            cfg.HTTPAddr,

			WebConfigFile: cfg.WebConfigFile,
		})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("metricsd: %w", err), evs.Close())
		}
		s.http, s.events = api, evs
	}
	return s, nil
}

// newEvents returns the store of Graphite events: durable in the data
// directory when there is one (as the points are), in memory otherwise.
// It does no I/O: openEvents loads the file once the directory is
// recovered.
func newEvents(cfg Config, log *slog.Logger) *events.Store {
	if cfg.DataDir == "" {
		return events.NewMemory()
	}
	return events.NewFile(filepath.Join(cfg.DataDir, events.FileName), log)
}

// openEvents loads the events file, if there is one: after the storage has
// recovered (and locked) the data directory, before the Graphite
// listeners start. Until then the event endpoints answer 503.
func (s *side) openEvents() error {
	if s == nil || s.events == nil {
		return nil
	}
	if err := s.events.Open(); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	return nil
}

// closeEvents closes the events store, once the HTTP API that writes it
// has stopped (Server.closeStorage); calling it again is harmless.
func (s *side) closeEvents() error {
	if s == nil || s.events == nil {
		return nil
	}
	return s.events.Close()
}

// listen binds the side listeners, once; a bind failure is returned and
// nothing is left bound. serve then serves them: the two steps let the
// protocol's "metricsd listening" line come after every bind and before
// any other listening line.
func (s *side) listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listened || s.stopping {
		return nil
	}
	if err := s.listenHTTP(); err != nil {
		return err
	}
	var err error
	if s.cfg.GraphiteAddr != "" {
		if s.graphiteLn, err = net.Listen("tcp", s.cfg.GraphiteAddr); err != nil {
			if s.httpLn != nil {
				s.httpLn.Close()
				s.httpLn, s.httpAddr = nil, nil
			}
			return fmt.Errorf("metricsd: listen on %s (Graphite): %w", s.cfg.GraphiteAddr, err)
		}
		s.graphiteAddr = s.graphiteLn.Addr()
	}
	if err := s.udp.listen(s.cfg.GraphiteUDPAddr); err != nil {
		if s.httpLn != nil { // bound here, not served early
			s.httpLn.Close()
			s.httpLn, s.httpAddr = nil, nil
		}
		if s.graphiteLn != nil {
			s.graphiteLn.Close()
			s.graphiteLn, s.graphiteAddr = nil, nil
		}
		return err
	}
	s.listened = true
	return nil
}

// listenHTTP binds the HTTP API, unless it is off or already bound. s.mu
// must be held.
func (s *side) listenHTTP() error {
	if s.http == nil || s.httpAddr != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("metricsd: listen on %s (HTTP API): %w", s.cfg.HTTPAddr, err)
	}
	s.httpLn, s.httpAddr = ln, ln.Addr()
	return nil
}

// startHTTP binds and serves the HTTP API ahead of the other listeners,
// for the probes to watch a recovery; listen and serve then leave it be.
func (s *side) startHTTP() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.listenHTTP(); err != nil {
		return err
	}
	s.serveHTTP()
	return nil
}

// serveHTTP serves the bound HTTP listener, if any. s.mu must be held.
func (s *side) serveHTTP() {
	if s.httpLn == nil {
		return
	}
	ln := s.httpLn
	if !s.http.AccessControlled() {
		s.warnIfPublic(ln.Addr(), "the HTTP API without access control (--web-config-file): anyone who can reach it can read every metric")
	}
	s.run("http", func() error { return s.http.Serve(ln) }, http.ErrServerClosed)
	s.httpLn, s.started = nil, true // served: the server owns it now
}

// serve serves what listen bound, once.
func (s *side) serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serveHTTP()
	if s.graphiteLn != nil {
		ln := s.graphiteLn
		if s.cfg.GraphiteTLSClientCAFile == "" {
			s.warnIfPublic(ln.Addr(), "Graphite plaintext without client certificates (--graphite-tls-client-ca): anyone who can reach it can write metrics")
		}
		s.run("graphite", func() error { return s.graphite.Serve(ln) }, graphite.ErrReceiverClosed)
		s.graphiteLn, s.started = nil, true
	}
	if pc := s.udp.take(); pc != nil {
		s.warnIfPublic(pc.LocalAddr(), "Graphite plaintext over UDP: anyone who can reach it can write metrics")
		s.run("graphite udp", func() error { return s.graphite.ServeUDP(pc) }, graphite.ErrReceiverClosed)
		s.started = true
	}
}

// run serves in a goroutine; an end other than the orderly one is logged,
// as the protocol goes on without that listener.
func (s *side) run(name string, serve func() error, closed error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(); !errors.Is(err, closed) {
			s.log.Error(name+" listener failed", "err", err)
		}
	}()
}

// warnIfPublic says so when a listener without authentication is bound
// beyond the loopback interface.
func (s *side) warnIfPublic(addr net.Addr, what string) {
	var ip net.IP
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return
	}
	if !ip.IsLoopback() {
		s.log.Warn("serving "+what+"; bind 127.0.0.1 or firewall it", "addr", addr.String())
	}
}

// markStopping makes /readyz answer 503 and keeps the listeners from
// starting later.
func (s *side) markStopping() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
}

func (s *side) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// shutdown stops the Graphite receiver (the last writer besides the
// protocol), then the HTTP API (the last reader), and waits for their
// goroutines.
func (s *side) shutdown(ctx context.Context) error {
	s.markStopping()
	s.mu.Lock()
	started := s.started
	for _, ln := range []net.Listener{s.httpLn, s.graphiteLn} {
		if ln != nil { // bound, never served
			ln.Close()
		}
	}
	s.udp.closeUnserved()
	s.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	if s.graphite != nil {
		errs = append(errs, s.graphite.Shutdown(ctx))
	}
	if s.http != nil {
		errs = append(errs, s.http.Shutdown(ctx))
	}
	s.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("metricsd: %w", err)
	}
	return nil
}

// readiness backs /readyz: the storage's readiness, until Shutdown begins.
func (s *Server) readiness() error {
	if s.side != nil && s.side.isStopping() {
		return errShuttingDown
	}
	return s.Ready()
}

// HTTPAddr is the address the HTTP API listens on, or nil when it is off
// or before Serve.
func (s *Server) HTTPAddr() net.Addr {
	s.side.mu.Lock()
	defer s.side.mu.Unlock()
	return s.side.httpAddr
}

// GraphiteAddr is the address the Graphite plaintext receiver listens on,
// or nil when it is off or before Serve.
func (s *Server) GraphiteAddr() net.Addr {
	s.side.mu.Lock()
	defer s.side.mu.Unlock()
	return s.side.graphiteAddr
}
