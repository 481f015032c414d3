package metricsd

import (
	"fmt"
	"net"
)

// graphiteUDP is the Graphite plaintext UDP socket of a side: bound by
// listen, handed to the receiver by serve. The side's mu guards it.
type graphiteUDP struct {
	pc   net.PacketConn // bound, not yet served
	addr net.Addr       // where it is bound, once bound
}

// listen binds addr (host:port) for UDP, unless addr is empty or it is
// already bound.
func (u *graphiteUDP) listen(addr string) error {
	if addr == "" || u.addr != nil {
		return nil
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("metricsd: listen on %s (Graphite UDP): %w", addr, err)
	}
	u.pc, u.addr = pc, pc.LocalAddr()
	return nil
}

// take returns the bound socket for serving, once; nil when there is none.
func (u *graphiteUDP) take() net.PacketConn {
	pc := u.pc
	u.pc = nil
	return pc
}

// closeUnserved closes a socket that was bound but never served.
func (u *graphiteUDP) closeUnserved() {
	if u.pc != nil {
		u.pc.Close()
		u.pc = nil
	}
}

// GraphiteUDPAddr is the address the Graphite plaintext UDP listener is
// bound to, or nil when it is off or before Serve.
func (s *Server) GraphiteUDPAddr() net.Addr {
	s.side.mu.Lock()
	defer s.side.mu.Unlock()
	return s.side.udp.addr
}
