// Package remotewrite decodes Prometheus remote_write requests (protocol
// 1.0: a snappy-compressed prometheus.WriteRequest protobuf) and maps each
// series to a Graphite tagged name (issue #12.6).
//
// The protobuf is decoded by the Prometheus project's own Go types
// (github.com/prometheus/prometheus/prompb) and the block format by
// github.com/golang/snappy, which Prometheus itself uses to encode it: no
// hand-written decoder.
//
// The mapping (Name):
//
//	http_requests_total{code="200",job="api"}  ->  http_requests_total;code=200;job=api
//
// The metric name (the __name__ label) is the Graphite name; every other
// label becomes a tag, in carbon's normalized order (internal/tags), so
// the series is what a carbon user sending the same tags would have, and
// seriesByTag('name=http_requests_total', 'job=api') finds it. Because
// carbon's tag syntax is narrower than Prometheus' labels:
//
//   - a label with an empty value is left out (Prometheus treats it as
//     absent too);
//   - in values, ";" and whitespace become "_", and a leading "~" becomes
//     "_" (carbon refuses the first and the last; whitespace cannot cross
//     the Graphite plaintext protocol or the course's protocol);
//   - a label called "name" becomes "exported_name", as Prometheus renames
//     a clashing target label, since carbon's "name" tag is the metric;
//   - a series without a metric name, or with a label name holding one of
//     ";!^=" (possible with Prometheus 3's UTF-8 names), or whose metric
//     name carbon refuses, is refused (counted by reason).
//
// Timestamps are milliseconds; the store keeps whole seconds, so a sample
// is stored at its millisecond time divided by 1000, rounded down, and of
// several samples of one series in one second the last written wins.
// NaN samples (Prometheus' staleness markers among them) are dropped, as
// the Graphite receiver drops NaN. Native histograms, exemplars and
// metadata are not stored.
package remotewrite
