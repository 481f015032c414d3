package httpapi

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreStats is implemented by engines that count what they hold, as
// store.Memory does.
type StoreStats interface {
	Stats() (series, points int)
}

// storeCollector reads the series and points gauges from the engine at
// each scrape, with one Stats call for both, so that the hot path keeps no
// gauge of its own.
type storeCollector struct {
	st             StoreStats
	series, points *prometheus.Desc
}

// RegisterStoreMetrics registers metricsd_series and metricsd_points,
// read from st whenever /metrics is scraped.
func RegisterStoreMetrics(reg prometheus.Registerer, st StoreStats) error {
	c := &storeCollector{
		st:     st,
		series: prometheus.NewDesc("metricsd_series", "Series (keys) stored.", nil, nil),
		points: prometheus.NewDesc("metricsd_points", "Points stored, over all series.", nil, nil),
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("httpapi: register store metrics: %w", err)
	}
	return nil
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.series
	ch <- c.points
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	series, points := c.st.Stats()
	ch <- prometheus.MustNewConstMetric(c.series, prometheus.GaugeValue, float64(series))
	ch <- prometheus.MustNewConstMetric(c.points, prometheus.GaugeValue, float64(points))
}
