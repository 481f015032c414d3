package graphite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// startUDPReceiver serves cfg's receiver on a UDP socket on 127.0.0.1:0
// until the test ends and returns it with a connected client socket.
func startUDPReceiver(t *testing.T, cfg ReceiverConfig) (*testReceiver, net.Conn) {
	t.Helper()
	return startUDPReceiverOn(t, cfg, func(pc net.PacketConn) net.PacketConn { return pc })
}

// packetConn hides the *net.UDPConn in it, so that ServeUDP takes the
// path of any other net.PacketConn.
type packetConn struct{ net.PacketConn }

// startUDPReceiverOn is startUDPReceiver serving wrap(the socket).
func startUDPReceiverOn(t *testing.T, cfg ReceiverConfig, wrap func(net.PacketConn) net.PacketConn) (*testReceiver, net.Conn) {
	t.Helper()
	st := store.NewMemory()
	reg := prometheus.NewRegistry()
	cfg.Storage, cfg.Registerer = st, reg
	if cfg.MaxLineLength == 0 {
		cfg.MaxLineLength = 1024
	}
	cfg.Now = func() time.Time { return fixedNow }
	rcv, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- rcv.ServeUDP(wrap(pc)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := rcv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrReceiverClosed) {
			t.Errorf("ServeUDP = %v, want ErrReceiverClosed", err)
		}
	})
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &testReceiver{rcv: rcv, addr: pc.LocalAddr().String(), store: st, reg: reg}, c
}

// handled is how many UDP lines the receiver has stored or dropped.
func (tr *testReceiver) udpHandled() float64 {
	n := testutil.ToFloat64(tr.rcv.metrics.udp.stored)
	for _, c := range tr.rcv.metrics.udp.dropped {
		n += testutil.ToFloat64(c)
	}
	return n
}

func TestReceiverUDP(t *testing.T) {
	tr, c := startUDPReceiver(t, ReceiverConfig{MaxLineLength: 64})
	datagrams := []string{
		// collectd's write_graphite: several lines, each ended.
		"collectd.h.load.shortterm 0.5 1500000000\ncollectd.h.load.midterm 0.25 1500000000\n",
		// statsd-style: the last line without its "\n"; CRLF endings.
		"stats.hits 3 1500000000\r\nstats.misses 1 1500000000",
		// one line asking for "now"; bad lines of each kind between good ones.
		"udp.now 7 N\nnot a line at all\nudp.bad nope 1\nudp.nan nan 1\n" + strings.Repeat("x", 65) + " 1 1\nudp.after 1 1500000000\n",
	}
	for _, d := range datagrams {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	testnet.WaitFor(t, "every UDP line handled", func() bool { return tr.udpHandled() == 10 })
	for key, want := range map[string]string{
		"collectd.h.load.shortterm": "[0.5@1500000000]",
		"collectd.h.load.midterm":   "[0.25@1500000000]",
		"stats.hits":                "[3@1500000000]",
		"stats.misses":              "[1@1500000000]",
		"udp.now":                   "[7@1700000000]",
		"udp.after":                 "[1@1500000000]",
	} {
		if got := fmt.Sprint(points(t, tr.store, key)); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	m := tr.rcv.metrics
	for reason, want := range map[string]float64{ReasonFormat: 1, ReasonValue: 1, ReasonNaN: 1, ReasonTooLong: 1} {
		if got := testutil.ToFloat64(m.udp.dropped[reasonIndex(reason)]); got != want {
			t.Errorf("udp dropped %s = %v, want %v", reason, got, want)
		}
		if got := testutil.ToFloat64(m.tcp.dropped[reasonIndex(reason)]); got != 0 {
			t.Errorf("tcp dropped %s = %v, want 0 (the lines came over UDP)", reason, got)
		}
	}
	if got := testutil.ToFloat64(m.udp.stored); got != 6 {
		t.Errorf("udp stored = %v, want 6", got)
	}
	var total int
	for _, d := range datagrams {
		total += len(d)
	}
	if got := testutil.ToFloat64(m.udp.bytes); got != float64(total) {
		t.Errorf("udp bytes = %v, want %d", got, total)
	}
}

// TestReceiverUDPAnyPacketConn serves a *net.UDPConn (read without
// allocating) and a PacketConn that is not one; on both, a dropped line's
// warning names the transport and the sender.
func TestReceiverUDPAnyPacketConn(t *testing.T) {
	for name, wrap := range map[string]func(net.PacketConn) net.PacketConn{
		"UDPConn":          func(pc net.PacketConn) net.PacketConn { return pc },
		"other PacketConn": func(pc net.PacketConn) net.PacketConn { return packetConn{pc} },
	} {
		t.Run(name, func(t *testing.T) { testUDPWarningNamesSender(t, wrap) })
	}
}

func testUDPWarningNamesSender(t *testing.T, wrap func(net.PacketConn) net.PacketConn) {
	h := &recordingHandler{}
	tr, c := startUDPReceiverOn(t, ReceiverConfig{Logger: slog.New(h)}, wrap)
	if _, err := c.Write([]byte("any.conn 1 1500000000\nbad line\n")); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "both lines handled", func() bool { return tr.udpHandled() == 2 })
	if got := fmt.Sprint(points(t, tr.store, "any.conn")); got != "[1@1500000000]" {
		t.Errorf("any.conn = %s", got)
	}
	w := h.warnings()
	if len(w) != 1 || attr(w[0], "transport") != TransportUDP || attr(w[0], "remote") != c.LocalAddr().String() {
		t.Errorf("warnings = %v; want one naming transport udp and remote %s", w, c.LocalAddr())
	}
}

// TestReceiverUDPLargeDatagram sends one datagram near the UDP maximum:
// the 64 KiB buffer takes it whole, and every line in it lands.
func TestReceiverUDPLargeDatagram(t *testing.T) {
	tr, c := startUDPReceiver(t, ReceiverConfig{})
	var b bytes.Buffer
	n := 0
	for b.Len() < 65_000 {
		fmt.Fprintf(&b, "big.series.%05d %d 1500000000\n", n, n)
		n++
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "the large datagram handled", func() bool { return tr.udpHandled() == float64(n) })
	if got := testutil.ToFloat64(tr.rcv.metrics.udp.stored); got != float64(n) {
		t.Errorf("stored %v of %d lines", got, n)
	}
	if got := fmt.Sprint(points(t, tr.store, fmt.Sprintf("big.series.%05d", n-1))); got != fmt.Sprintf("[%d@1500000000]", n-1) {
		t.Errorf("last line of the datagram: %s", got)
	}
}

// FuzzDatagram checks that any datagram is split into lines that are each
// stored or counted as dropped exactly once, and nothing panics.
func FuzzDatagram(f *testing.F) {
	for _, s := range []string{"a 1 1\n", "a 1 1", "a 1 1\r\nb 2 2\n\n", "\n\n", "x y", "a nan 1\nb 1 N", "\xff 1 1\n"} {
		f.Add([]byte(s))
	}
	rcv, err := NewReceiver(ReceiverConfig{Storage: store.NewMemory(), MaxLineLength: 16, LogInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d datagram
		d.lines(rcv, b)
		d.settle(rcv)
		want := int64(bytes.Count(b, []byte{'\n'}))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			want++
		}
		got := d.stored
		for _, n := range d.dropped {
			got += n
		}
		if got != want {
			t.Fatalf("%q: %d lines handled, want %d", b, got, want)
		}
	})
}

// TestReceiverUDPTaggedLines: a datagram's tagged lines are normalized as
// the TCP session's are (ParseLine does it for both), so one series in two
// tag orders is one key, and a tagged name carbon refuses is counted.
func TestReceiverUDPTaggedLines(t *testing.T) {
	tr, c := startUDPReceiver(t, ReceiverConfig{})
	if _, err := c.Write([]byte("cpu;host=a;dc=eu 1 100\ncpu;dc=eu;host=a 2 110\ncpu;host 3 120\n")); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "every UDP line handled", func() bool { return tr.udpHandled() == 3 })
	if got := fmt.Sprint(points(t, tr.store, "cpu;dc=eu;host=a")); got != "[1@100 2@110]" {
		t.Errorf("normalized series = %s, want [1@100 2@110]", got)
	}
	if got := testutil.ToFloat64(tr.rcv.metrics.udp.dropped[reasonIndex(ReasonTags)]); got != 1 {
		t.Errorf("udp dropped %s = %v, want 1", ReasonTags, got)
	}
}
