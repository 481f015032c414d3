package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultMaxLineLength is the default limit on one response line. The
// server's default request line limit is 64 KiB, so a point line (key,
// value, timestamp) fits with room to spare.
const DefaultMaxLineLength = 1 << 20

// readBufferSize is the size of the connection's bufio.Reader.
const readBufferSize = 16 << 10

// aLongTimeAgo is a deadline in the past: setting it makes blocked reads and
// writes return at once (the trick net/http uses to abort I/O).
var aLongTimeAgo = time.Unix(1, 0)

// Option configures a Client.
type Option func(*options)

type options struct {
	dialer        *net.Dialer
	maxLineLength int
	tls           *tls.Config
}

// WithTLS speaks TLS with cfg on every connection. For mutual TLS put the
// client certificate in cfg.Certificates; when cfg.ServerName is empty the
// host of the address is verified.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls = cfg }
}

// WithDialer sets the dialer used to connect (and reconnect). The context of
// the call that dials bounds it too.
func WithDialer(d *net.Dialer) Option {
	return func(o *options) { o.dialer = d }
}

// WithMaxLineLength sets the longest response line accepted, in bytes,
// "\n" included; a longer line is an ErrProtocol. n <= 0 restores
// DefaultMaxLineLength.
func WithMaxLineLength(n int) Option {
	return func(o *options) {
		if n <= 0 {
			n = DefaultMaxLineLength
		}
		o.maxLineLength = n
	}
}

// Client is a connection to one metricsd server. It is safe for concurrent
// use; requests are serialised on the single connection.
type Client struct {
	addr string
	opts options

	// sem serialises requests; holding it (a value sent) owns wbuf and the
	// right to do I/O on conn. It is a channel so that waiting for it can be
	// abandoned when the caller's context ends.
	sem  chan struct{}
	wbuf []byte

	mu     sync.Mutex // guards conn and closed; never held during I/O
	conn   *conn
	closed bool
}

// conn is one TCP connection and its read state.
type conn struct {
	nc      net.Conn
	r       *bufio.Reader
	long    []byte // reassembles lines longer than r's buffer
	maxLine int
}

// Dial connects to the metricsd server at addr ("host:port") and returns a
// Client that keeps the connection. It dials at once, so a wrong address
// fails here; later, a connection dropped after an error is re-dialled
// lazily by the next call.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	c := &Client{
		addr: addr,
		opts: options{dialer: &net.Dialer{}, maxLineLength: DefaultMaxLineLength},
		sem:  make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(&c.opts)
	}
	cn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c.conn = cn
	return c, nil
}

// Addr returns the server address given to Dial.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection. A call in progress fails with ErrClosed, as
// do later calls. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	cn := c.conn
	wasClosed := c.closed
	c.conn, c.closed = nil, true
	c.mu.Unlock()
	if wasClosed || cn == nil {
		return nil
	}
	if err := cn.nc.Close(); err != nil {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// dial opens a new connection.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	nc, err := c.opts.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, c.netError(ctx, "dial", err)
	}
	if c.opts.tls != nil {
		if nc, err = c.handshake(ctx, nc); err != nil {
			return nil, c.netError(ctx, "tls handshake", err)
		}
	}
	return &conn{
		nc:      nc,
		r:       bufio.NewReaderSize(nc, readBufferSize),
		maxLine: c.opts.maxLineLength,
	}, nil
}

// handshake runs the TLS client handshake on nc within ctx.
func (c *Client) handshake(ctx context.Context, nc net.Conn) (net.Conn, error) {
	cfg := c.opts.tls
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(c.addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// current returns the open connection, dialling one if there is none.
// The caller holds sem.
func (c *Client) current(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	cn, closed := c.conn, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if cn != nil {
		return cn, nil
	}
	cn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed { // Close ran while we were dialling
		cn.nc.Close()
		return nil, ErrClosed
	}
	c.conn = cn
	return cn, nil
}

// drop closes cn and forgets it if it is still the current connection.
func (c *Client) drop(cn *conn) {
	c.mu.Lock()
	if c.conn == cn {
		c.conn = nil
	}
	c.mu.Unlock()
	cn.nc.Close()
}

// isClosed reports whether Close has been called.
func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// roundTrip sends the request built by build and reads its response with
// read, on the current connection. Any error except a *ServerError drops
// the connection, since the response stream may be out of step.
func (c *Client) roundTrip(ctx context.Context, build func([]byte) []byte, read func(*conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.sem }()

	cn, err := c.current(ctx)
	if err != nil {
		return err
	}
	c.wbuf = build(c.wbuf[:0])
	raced, err := c.exchange(ctx, cn, c.wbuf, read)
	if raced || (err != nil && !isServerError(err)) {
		c.drop(cn)
	}
	if errors.Is(err, ErrNetwork) && c.isClosed() {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// exchange writes req to cn and reads the response, under ctx's deadline and
// cancellation. raced reports that the cancellation hook ran, in which case
// cn must not be reused even if the exchange succeeded.
func (c *Client) exchange(ctx context.Context, cn *conn, req []byte, read func(*conn) error) (raced bool, err error) {
	deadline, _ := ctx.Deadline() // zero time means no deadline
	if err := cn.nc.SetDeadline(deadline); err != nil {
		return false, c.netError(ctx, "write", err)
	}
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(aLongTimeAgo) })
	defer func() { raced = !stop() }()

	if _, err := cn.nc.Write(req); err != nil {
		return false, c.netError(ctx, "write", err)
	}
	if err := read(cn); err != nil {
		if errors.Is(err, ErrProtocol) || isServerError(err) {
			return false, err
		}
		return false, c.netError(ctx, "read", err)
	}
	return false, nil
}

// netError wraps an I/O error as a *NetError, adding the context's error
// when the context has ended (or its deadline, which the connection shares,
// has just passed).
func (c *Client) netError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	} else if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return &NetError{Op: op, Addr: c.addr, Err: err}
}

// isServerError reports whether err is a *ServerError.
func isServerError(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}
