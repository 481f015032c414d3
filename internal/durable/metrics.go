package durable

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's self-metrics; the log registers its own. They
// exist even without a Registerer, so updating them needs no checks.
type metrics struct {
	points       prometheus.Counter
	failed       prometheus.Gauge
	recovered    prometheus.Counter
	snapDuration prometheus.Histogram
	snapSize     prometheus.Gauge
	snapLast     prometheus.Gauge
	snapFailures prometheus.Counter
	// snapFallbacks counts startups that passed over a damaged snapshot.
	snapFallbacks prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_wal_points_total",
			Help: "Points written to the write-ahead log.",
		}),
		failed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_storage_failed",
			Help: "1 after a write or fsync of the write-ahead log failed: puts are refused until restart.",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_recovery_points_total",
			Help: "Points loaded at startup from the snapshot and the write-ahead log.",
		}),
		snapDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metricsd_snapshot_duration_seconds",
			Help:    "Time to write a snapshot, from the log cut to the deletion of covered segments.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms to 4.4 min
		}),
		snapSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_snapshot_size_bytes",
			Help: "Size of the newest snapshot.",
		}),
		snapLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metricsd_snapshot_last_success_timestamp_seconds",
			Help: "Unix time of the last snapshot written.",
		}),
		snapFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_snapshot_failures_total",
			Help: "Snapshots that could not be written.",
		}),
		snapFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metricsd_snapshot_fallbacks_total",
			Help: "Damaged snapshots that startup passed over for the one before them and the log since it.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.points, m.failed, m.recovered, m.snapDuration, m.snapSize, m.snapLast, m.snapFailures, m.snapFallbacks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("durable: register metrics: %w", err)
		}
	}
	return m, nil
}
