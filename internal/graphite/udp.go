package graphite

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"metricsd/internal/store"
)

// MaxDatagramSize is the read buffer of the UDP listener: the largest UDP
// payload (65,507 bytes over IPv4) fits whole, so no datagram is cut.
const MaxDatagramSize = 64 << 10

// ServeUDP reads Graphite plaintext datagrams from pc until Shutdown, then
// returns ErrReceiverClosed; a read failure is returned at once. A datagram
// holds one or more lines, the last one with or without its "\n" (collectd
// ends every line, statsd-style senders often do not); each line is parsed
// by ParseLine, counted and stored as on TCP, under transport "udp". pc is
// closed when ServeUDP returns.
//
// UDP has no delivery guarantee: datagrams the kernel drops because the
// socket buffer is full, or that are still queued at Shutdown, are lost
// without a count here (the kernel counts them in /proc/net/udp).
func (r *Receiver) ServeUDP(pc net.PacketConn) error {
	if !r.trackUDP(pc) {
		pc.Close()
		return ErrReceiverClosed
	}
	defer r.untrackUDP(pc)
	r.log.Info("graphite udp listening", "addr", pc.LocalAddr().String())
	buf := make([]byte, MaxDatagramSize)
	var d datagram
	udp, _ := pc.(*net.UDPConn)
	for {
		var n int
		var err error
		if udp != nil {
			// ReadFromUDPAddrPort does not allocate; ReadFrom allocates the
			// sender's net.Addr for every datagram.
			n, d.fromPort, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			n, d.from, err = pc.ReadFrom(buf)
		}
		if n > 0 {
			d.handle(r, buf[:n])
		}
		if err != nil {
			if r.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return ErrReceiverClosed
			}
			return fmt.Errorf("graphite: read UDP on %s: %w", pc.LocalAddr(), err)
		}
	}
}

// datagram is the UDP listener's state for one datagram: its sender, its
// parsed line and its counts, added to the shared metrics once per
// datagram.
type datagram struct {
	fromPort netip.AddrPort // the sender, read from a *net.UDPConn
	from     net.Addr       // the sender, read from another PacketConn
	line     Line
	stored   int64
	dropped  [len(reasons)]int64
}

// String is the sender's address, for a log line; datagram is the remote
// of its warnings, so that only a warning formats it.
func (d *datagram) String() string {
	if d.from != nil {
		return d.from.String()
	}
	// A dual-stack socket gives IPv4 senders as ::ffff:a.b.c.d.
	return netip.AddrPortFrom(d.fromPort.Addr().Unmap(), d.fromPort.Port()).String()
}

// handle stores every good line of the datagram b and adds the counts to
// the metrics.
func (d *datagram) handle(r *Receiver, b []byte) {
	r.metrics.udp.bytes.Add(float64(len(b)))
	d.lines(r, b)
	d.flush(&r.metrics.udp)
}

// lines handles each line of b: up to and with each "\n", and what follows
// the last one.
func (d *datagram) lines(r *Receiver, b []byte) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		d.handleLine(r, line)
	}
}

// flush adds the datagram's counts to m and clears them.
func (d *datagram) flush(m *transportMetrics) {
	if d.stored > 0 {
		m.stored.Add(float64(d.stored))
		d.stored = 0
	}
	for i, n := range d.dropped {
		if n > 0 {
			m.dropped[i].Add(float64(n))
			d.dropped[i] = 0
		}
	}
}

// handleLine stores one line, or counts and logs why not, with the same
// reasons as a TCP session.
func (d *datagram) handleLine(r *Receiver, line []byte) {
	if len(bytes.TrimSuffix(line, []byte{'\n'})) > r.cfg.MaxLineLength {
		d.drop(r, ReasonTooLong, nil, nil)
		return
	}
	if err := ParseLine(line, &d.line); err != nil {
		d.drop(r, ReasonOf(err), line, nil)
		return
	}
	ts := d.line.Timestamp
	if d.line.Now {
		ts = r.now().Unix()
	}
	// One Put per line, waited for: a datagram is small (28 collectd lines)
	// and has no answer to send, so there is nothing to pipeline against.
	if err := r.cfg.Storage.Put(d.line.Path, store.Point{Timestamp: ts, Value: d.line.Value}); err != nil {
		d.drop(r, ReasonStore, line, err)
		return
	}
	d.stored++
}

// drop counts a dropped line and logs it (rate-limited), NaN values only
// counted, as a TCP session does.
func (d *datagram) drop(r *Receiver, reason string, line []byte, err error) {
	d.dropped[reasonIndex(reason)]++
	if reason != ReasonNaN {
		r.logDrop(reason, TransportUDP, d, line, err)
	}
}

// trackUDP registers pc so that Shutdown closes it; false means Shutdown
// has started.
func (r *Receiver) trackUDP(pc net.PacketConn) bool {
	r.udpMu.Lock()
	defer r.udpMu.Unlock()
	if r.stopping.Load() {
		return false
	}
	if r.udp == nil {
		r.udp = make(map[net.PacketConn]struct{})
	}
	r.udp[pc] = struct{}{}
	r.udpWG.Add(1)
	return true
}

// untrackUDP forgets and closes pc, once its reader has returned.
func (r *Receiver) untrackUDP(pc net.PacketConn) {
	r.udpMu.Lock()
	delete(r.udp, pc)
	r.udpMu.Unlock()
	pc.Close()
	r.udpWG.Done()
}

// shutdownUDP closes every UDP listener and waits for their readers, which
// finish the datagram in hand first. stopping must already be set.
func (r *Receiver) shutdownUDP() {
	r.udpMu.Lock()
	for pc := range r.udp {
		pc.Close()
	}
	r.udpMu.Unlock()
	r.udpWG.Wait()
}
