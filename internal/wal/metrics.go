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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fsync, m.bytes, m.segments} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("wal: register metrics: %w", err)
		}
	}
	return m, nil
}
