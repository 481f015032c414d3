// Package deadline renews I/O deadlines lazily. Setting a connection's
// deadline updates a runtime timer; doing it before every small write of a
// pipelining session, or every window of the load generator, cost 1–2 % of
// their CPU. A Lazy deadline is set 1.5 × the timeout ahead and renewed
// only when less than the timeout is left, so every operation still gets
// at least the timeout, and a stuck one fails within 1.5 × the timeout.
package deadline

import "time"

// Lazy is one connection's deadline. The zero value has none set yet.
type Lazy struct {
	until time.Time
}

// Renew reports whether the deadline must be moved for an operation that
// starts at now and must have timeout to finish, and if so to when; the
// caller sets it on the connection.
func (l *Lazy) Renew(now time.Time, timeout time.Duration) (time.Time, bool) {
	if l.until.Sub(now) >= timeout {
		return l.until, false
	}
	l.until = now.Add(timeout + timeout/2)
	return l.until, true
}

// Reset forgets the deadline, for a new connection.
func (l *Lazy) Reset() { l.until = time.Time{} }
