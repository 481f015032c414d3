package wal

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the log's self-metrics. They always exist, so the code that
// updates them needs no nil checks; they are registered only when a
// Registerer is given.
type metrics struct {
	fsync    prometheus.Histogram
	bytes    prometheus.Counter
	segments prometheus.Gauge
	// tornRepairs and tornBytes count the torn tails that startup cut off
	// (see Torn): the only damage the log repairs without being asked.
	tornRepairs prometheus.Counter
	tornBytes   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metricsd_wal_fsync_duration_seconds",
			Help:    "Duration of write-ahead log fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9), // 100µs to 6.5s
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_wal_written_bytes_total",
			Help: "Bytes appended to the write-ahead log.",
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_wal_segments",
			Help: "Segment files of the write-ahead log on disk.",
		}),
		tornRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_wal_torn_tail_repairs_total",
			Help: "Torn tails (an incomplete last record or an all-zero tail of the last segment) cut off at startup.",
		}),
		tornBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_wal_torn_tail_bytes_total",
			Help: "Bytes dropped by cutting torn tails off the last segment at startup.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fsync, m.bytes, m.segments, m.tornRepairs, m.tornBytes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("wal: register metrics: %w", err)
		}
	}
	return m, nil
}
