package graphite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/store"
	"metricsd/internal/tcpserve"
)

// DefaultLogInterval is how often, at most, the Receiver logs a dropped
// line when ReceiverConfig.LogInterval is zero.
const DefaultLogInterval = 10 * time.Second

// ReceiverConfig is what a Receiver needs; the root package fills it.
type ReceiverConfig struct {
	// Storage is where points go. Required.
	Storage store.Storage
	// MaxLineLength bounds a line's bytes before its "\n"; a longer line is
	// dropped (ReasonTooLong) without being buffered.
	MaxLineLength int
	// Logger receives listen/stop lines and rate-limited warnings about
	// dropped lines; nil discards them.
	Logger *slog.Logger
	// Registerer receives the Receiver's metrics; nil keeps them unexported.
	Registerer prometheus.Registerer
	// Now gives the time of arrival for lines that ask for it ("-1", "N");
	// nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// MaxConns bounds the open connections; past it a new connection is
	// closed at once (the protocol has no way to say why). 0: no bound.
	MaxConns int
	// IdleTimeout closes a connection that sends nothing for that long; zero
	// means never, as carbon does (agents keep one connection for hours).
	IdleTimeout time.Duration
	// LogInterval is the least time between two warnings about dropped
	// lines; zero means DefaultLogInterval.
	LogInterval time.Duration
	// TLS, when set, serves every TCP connection over TLS with this
	// configuration (set ClientAuth and ClientCAs in it for mutual TLS).
	// A client that does not complete the handshake within
	// HandshakeTimeout (or IdleTimeout, when shorter and set) is closed.
	TLS *tls.Config
}

// HandshakeTimeout bounds a TLS handshake on the Graphite port, so that a
// client that connects and sends nothing, or plain text, is not kept.
const HandshakeTimeout = 10 * time.Second

// Receiver accepts Graphite plaintext connections and stores every good
// line. The protocol has no replies: bad lines are counted and skipped, and
// never end the connection.
type Receiver struct {
	cfg      ReceiverConfig
	log      *slog.Logger
	now      func() time.Time
	metrics  *receiverMetrics
	badLines *rateLimit // warnings about dropped lines
	refusals *rateLimit // warnings about refused connections

	conns    *tcpserve.Group // accept loops and running sessions
	stopping atomic.Bool     // set by the first Shutdown

	udpMu sync.Mutex                  // guards udp
	udp   map[net.PacketConn]struct{} // UDP listeners being read
	udpWG sync.WaitGroup              // one per running ServeUDP
}

// ErrReceiverClosed is returned by Serve after Shutdown.
var ErrReceiverClosed = errors.New("graphite: receiver closed")

// NewReceiver checks cfg and returns a Receiver that is not yet serving.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.Storage == nil {
		return nil, errors.New("graphite: receiver config has no storage")
	}
	if cfg.MaxLineLength <= 0 {
		return nil, fmt.Errorf("graphite: max line length %d must be positive", cfg.MaxLineLength)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 {
		return nil, errors.New("graphite: max conns and idle timeout must not be negative")
	}
	m, err := newReceiverMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Receiver{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		metrics: m,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	every := cfg.LogInterval
	if every <= 0 {
		every = DefaultLogInterval
	}
	r.badLines = newRateLimit(every, r.now)
	r.refusals = newRateLimit(every, r.now)
	r.conns = tcpserve.New(tcpserve.Config{
		NewSession: func(conn net.Conn) tcpserve.Session { return newSession(r, conn) },
		MaxConns:   cfg.MaxConns,
		Refuse:     r.refuse,
		Started: func() {
			m.connections.Inc()
			m.open.Inc()
		},
		Ended:  m.open.Dec,
		Logger: r.log,
		Name:   "graphite",
	})
	return r, nil
}

// Serve accepts connections on ln until Shutdown, then returns
// ErrReceiverClosed; an accept failure that is not temporary is returned at
// once. Temporary failures (such as running out of file descriptors) are
// retried after a pause that doubles from 10 ms to 1 s, so that an error
// storm cannot spin the CPU. Serve closes ln when it returns.
func (r *Receiver) Serve(ln net.Listener) error {
	if !r.stopping.Load() {
		r.log.Info("graphite listening", "addr", ln.Addr().String(), "tls", r.cfg.TLS != nil)
	}
	err := r.conns.Serve(ln)
	if errors.Is(err, tcpserve.ErrClosed) {
		return ErrReceiverClosed
	}
	return fmt.Errorf("graphite: accept on %s: %w", ln.Addr(), err)
}

// refuse closes a connection past MaxConns at once (the protocol has no way
// to say why), counts it and warns, at most once per LogInterval.
func (r *Receiver) refuse(conn net.Conn) {
	conn.Close()
	r.metrics.refused.Inc()
	if suppressed, ok := r.refusals.allow(); ok {
		r.log.Warn("graphite connection refused: too many connections", "remote", conn.RemoteAddr().String(), "max_conns", r.cfg.MaxConns, "suppressed", suppressed)
	}
}

// Shutdown stops accepting, closes the UDP listeners (after the datagram in
// hand), lets every session store the complete lines it has already read,
// and waits for the sessions to end. If ctx ends first,
// the remaining connections are closed and ctx's error is returned. Calling
// it again is harmless.
func (r *Receiver) Shutdown(ctx context.Context) error {
	first := r.stopping.CompareAndSwap(false, true)
	r.shutdownUDP()
	if err := r.conns.Shutdown(ctx); err != nil {
		return fmt.Errorf("graphite: shutdown: %w", err)
	}
	if first {
		r.log.Info("graphite stopped")
	}
	return nil
}
