package graphite

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// reasons lists every drop reason, so that each counter exists (at 0) from
// the start and a session can count drops in a fixed array.
var reasons = [...]string{ReasonFormat, ReasonUTF8, ReasonValue, ReasonTimestamp, ReasonNaN, ReasonTooLong, ReasonStore}

// reasonIndex returns the position of reason in reasons.
func reasonIndex(reason string) int {
	for i, r := range reasons {
		if r == reason {
			return i
		}
	}
	panic("graphite: unknown drop reason " + reason) // a programming error: reasons is incomplete
}

// Transports of the Graphite plaintext protocol: the label values of the
// per-transport counters.
const (
	TransportTCP = "tcp"
	TransportUDP = "udp"
)

// transportMetrics are the counters kept per transport, so that a drop on
// UDP and one on TCP are told apart under the same reasons.
type transportMetrics struct {
	stored  prometheus.Counter
	dropped [len(reasons)]prometheus.Counter
	bytes   prometheus.Counter
}

// receiverMetrics are the Receiver's self-metrics. Sessions count in local
// fields and add them here in batches (see session.flushCounts), so that the
// hot path touches no shared cache line per line.
type receiverMetrics struct {
	tcp, udp    transportMetrics
	open        prometheus.Gauge
	connections prometheus.Counter
	refused     prometheus.Counter

	handshakeFailures prometheus.Counter
}

func newReceiverMetrics(reg prometheus.Registerer) (*receiverMetrics, error) {
	storedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_graphite_points_stored_total",
		Help: "Graphite plaintext lines stored as points, by transport (tcp, udp).",
	}, []string{"transport"})
	droppedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_graphite_lines_dropped_total",
		Help: "Graphite plaintext lines dropped, by reason and transport (tcp, udp).",
	}, []string{"reason", "transport"})
	bytesVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_graphite_received_bytes_total",
		Help: "Bytes read from Graphite plaintext connections (tcp) and datagrams (udp).",
	}, []string{"transport"})
	m := &receiverMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_graphite_connections_open",
			Help: "Graphite plaintext connections currently open.",
		}),
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_graphite_connections_total",
			Help: "Graphite plaintext connections accepted.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_graphite_connections_refused_total",
			Help: "Graphite plaintext connections closed at once because MaxConns were open.",
		}),
		handshakeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_graphite_tls_handshake_failures_total",
			Help: "Graphite connections closed because their TLS handshake failed (plain TCP on the TLS port, no or a wrong client certificate, timeout).",
		}),
	}
	for _, t := range []struct {
		m    *transportMetrics
		name string
	}{{&m.tcp, TransportTCP}, {&m.udp, TransportUDP}} {
		t.m.stored = storedVec.WithLabelValues(t.name)
		t.m.bytes = bytesVec.WithLabelValues(t.name)
		for i, r := range reasons {
			t.m.dropped[i] = droppedVec.WithLabelValues(r, t.name)
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{storedVec, droppedVec, bytesVec, m.open, m.connections, m.refused, m.handshakeFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("graphite: register metrics: %w", err)
		}
	}
	return m, nil
}
