package client

import (
	"errors"
	"fmt"
)

// ErrNetwork matches, with errors.Is, every *NetError.
var ErrNetwork = errors.New("network error")

// ErrProtocol is returned (wrapped, with details) when a response does not
// follow the protocol's grammar. The connection is dropped.
var ErrProtocol = errors.New("malformed response")

// ErrInvalidKey is returned (wrapped) for a key that is empty, contains
// whitespace (as Python's str.split() defines it) or is not valid UTF-8.
// Such a request is never sent: the server could not parse it.
var ErrInvalidKey = errors.New("invalid key")

// ErrClosed is returned (wrapped) by calls on a Client after Close, and by a
// call that Close interrupted.
var ErrClosed = errors.New("client closed")

// ServerError is the server's answer "error\n<Msg>\n\n". Msg is
// "wrong command" for every request the server could not parse; other
// messages report a condition of the server itself (a storage limit, a disk
// failure), in which case a put stored nothing.
type ServerError struct {
	// Msg is the error line sent by the server, without its "\n".
	Msg string
}

// Error implements error.
func (e *ServerError) Error() string {
	return "server error: " + e.Msg
}

// NetError reports a failure to dial, write to or read from the server,
// including a deadline reached or a cancellation. Err is the cause; when the
// call's context ended, Err also wraps context.Cause of that context, so
// errors.Is(err, context.DeadlineExceeded) holds after a timeout.
type NetError struct {
	// Op is "dial", "write" or "read".
	Op string
	// Addr is the server's address as given to Dial.
	Addr string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *NetError) Error() string {
	return fmt.Sprintf("%s: %s %s: %v", ErrNetwork, e.Op, e.Addr, e.Err)
}

// Unwrap returns the underlying error.
func (e *NetError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNetwork.
func (e *NetError) Is(target error) bool { return target == ErrNetwork }

// protocolErrorf returns an error wrapping ErrProtocol with details.
func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
