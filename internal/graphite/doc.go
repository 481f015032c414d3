// Package graphite is metricsd's Graphite side. Its ingest half is the
// plaintext listener: ParseLine, a pure parser of "path value timestamp"
// lines (the protocol's tokenizer and number grammar), and Receiver, which
// accepts agents' connections and stores every good line through the
// storage's write seam (store.Engine.Submit): a session submits the lines
// of each read and waits for them once, before its next read, so that
// Graphite ingest shares the durable engine's group commit under every
// fsync mode. The plaintext protocol has no replies: a line that can't be
// stored is counted under a drop reason (metricsd_graphite_lines_dropped_
// total) and logged, rate-limited.
//
// Its query half answers graphite-web's API for Grafana: glob patterns,
// Graphite time expressions, find, render and their JSON encodings
// (docs/graphite.md).
package graphite
