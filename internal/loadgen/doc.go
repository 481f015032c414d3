// Package loadgen is metricsd's load generator (issue #3, Performance): it
// drives a server that speaks the metrics protocol, or a Graphite plaintext
// port, with a bounded, reproducible workload and reports throughput,
// latency percentiles and errors.
//
// Design, so that the generator is not the bottleneck on a 2-core machine
// it shares with the server:
//   - one goroutine per connection, each with its own write buffer,
//     response reader and latency histogram, merged only at the end;
//   - request i is a pure function of (seed, i), so the same flags send the
//     same data whatever the timing, to every server compared; by default
//     each connection owns a share of the keys and sends their rounds in
//     order, as agents do (Generator.Owned), and with Config.Spread the
//     connections claim windows of one global sequence instead;
//   - "put <key> " and "get <key>\n" are formatted once per key, so a
//     request costs one value and one timestamp formatting;
//   - pipelining is a window: write P requests in one write, then read P
//     answers, as redis-benchmark does;
//   - answers are checked by a reader that scans its buffer for "\n\n"
//     without allocating, and anything but the expected answer is an error.
package loadgen
