package graphite

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// reasons lists every drop reason, so that each counter exists (at 0) from
// the start and a session can count drops in a fixed array.
var reasons = [...]string{ReasonFormat, ReasonUTF8, ReasonValue, ReasonTimestamp, ReasonNaN, ReasonTooLong, ReasonStore, ReasonTags}

// reasonIndex returns the position of reason in reasons.
func reasonIndex(reason string) int {
	for i, r := range reasons {
		if r == reason {
			return i
		}
	}
	panic("graphite: unknown drop reason " + reason) // a programming error: reasons is incomplete
}

// receiverMetrics are the Receiver's self-metrics. Sessions count in local
// fields and add them here in batches (see session.flushCounts), so that the
// hot path touches no shared cache line per line.
type receiverMetrics struct {
	stored      prometheus.Counter
	dropped     [len(reasons)]prometheus.Counter
	bytes       prometheus.Counter
	open        prometheus.Gauge
	connections prometheus.Counter
	refused     prometheus.Counter
}

func newReceiverMetrics(reg prometheus.Registerer) (*receiverMetrics, error) {
	droppedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_graphite_lines_dropped_total",
		Help: "Graphite plaintext lines dropped, by reason.",
	}, []string{"reason"})
	m := &receiverMetrics{
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_graphite_points_stored_total",
			Help: "Graphite plaintext lines stored as points.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_graphite_received_bytes_total",
			Help: "Bytes read from Graphite plaintext connections.",
		}),
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
	}
	for i, r := range reasons {
		m.dropped[i] = droppedVec.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.stored, droppedVec, m.bytes, m.open, m.connections, m.refused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("graphite: register metrics: %w", err)
		}
	}
	return m, nil
}
