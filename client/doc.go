// Package client is a Go client for metricsd's wire protocol v1 (see
// docs/protocol.md): the line protocol of the "Diving into Python" course,
// where a request is "put <key> <value> <timestamp>\n" or "get <key>\n" and
// every response is "<status>\n<payload lines>\n".
//
// A Client keeps one TCP connection open and sends requests over it one at a
// time. It is safe for concurrent use: concurrent calls are serialised on
// that connection, and a caller waiting for its turn gives up when its
// context ends.
//
// Timeouts and cancellation come from the context of each call: its deadline
// becomes the connection's deadline, and cancelling it interrupts blocked
// reads and writes. A call that fails on the network, times out or is
// cancelled mid-request leaves the response stream in an unknown state, so
// the connection is dropped and the next call dials a new one.
//
// Errors fall into distinct classes, testable with errors.As and errors.Is:
//   - *ServerError: the server answered "error\n<msg>\n\n"; the connection
//     stays usable.
//   - *NetError (errors.Is(err, ErrNetwork)): dialing, writing or reading
//     failed, including timeouts and cancellation, which also match
//     context.DeadlineExceeded or context.Canceled.
//   - ErrProtocol: the server's response did not follow the grammar.
//   - ErrInvalidKey: the key was rejected before anything was sent.
//   - ErrClosed: the Client was closed.
package client
