package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the protocol server's self-metrics. Label children are
// resolved once here, so that recording on the request path is an atomic
// add and never a map lookup or an allocation.
type Metrics struct {
	putOK, putError, getOK, getAllOK prometheus.Counter
	wrongCommand, lineTooLong        prometheus.Counter
	bytesIn, bytesOut                prometheus.Counter
	connsOpen                        prometheus.Gauge
	connsRefused                     prometheus.Counter
	connsClosed                      *prometheus.CounterVec
	putSeconds, getSeconds           prometheus.Observer
}

// Reasons a session ends, the label of metricsd_connections_closed_total.
const (
	closeClient       = "client"        // the client closed or reset it
	closeReadTimeout  = "read_timeout"  // a line stayed incomplete too long
	closeIdleTimeout  = "idle_timeout"  // no request for --idle-timeout
	closeWriteTimeout = "write_timeout" // the client stopped reading
	closeShutdown     = "shutdown"      // the server is stopping
	closeTLS          = "tls_handshake" // the TLS handshake failed
)

// NewMetrics creates the protocol server's metrics and registers them with
// reg; a nil reg leaves them unregistered (they still count, unseen).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_requests_total",
		Help: "Protocol requests answered, by command and result.",
	}, []string{"command", "result"})
	protoErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_protocol_errors_total",
		Help: "Requests answered with \"wrong command\", by reason.",
	}, []string{"reason"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "metricsd_request_duration_seconds",
		Help:    "Time from a parsed request to its answer being buffered, by command; one put in 16 is timed.",
		Buckets: prometheus.ExponentialBuckets(1e-7, 4, 12), // 100 ns .. 0.4 s
	}, []string{"command"})
	m := &Metrics{
		putOK:        requests.WithLabelValues("put", "ok"),
		putError:     requests.WithLabelValues("put", "error"),
		getOK:        requests.WithLabelValues("get", "ok"),
		getAllOK:     requests.WithLabelValues("get_all", "ok"),
		wrongCommand: protoErrors.WithLabelValues("wrong_command"),
		lineTooLong:  protoErrors.WithLabelValues("line_too_long"),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_received_bytes_total", Help: "Bytes read from protocol clients.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_sent_bytes_total", Help: "Bytes written to protocol clients.",
		}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_connections_open", Help: "Protocol connections open now.",
		}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_connections_refused_total", Help: "Connections refused past --max-conns.",
		}),
		connsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metricsd_connections_closed_total", Help: "Protocol connections closed, by reason.",
		}, []string{"reason"}),
		putSeconds: latency.WithLabelValues("put"),
		getSeconds: latency.WithLabelValues("get"),
	}
	if reg != nil {
		reg.MustRegister(requests, protoErrors, latency, m.bytesIn, m.bytesOut,
			m.connsOpen, m.connsRefused, m.connsClosed)
	}
	return m
}
