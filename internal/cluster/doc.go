// Package cluster is metricsd's scale-out engine (issue #15): a
// store.Storage whose puts go to a replicated NATS JetStream log and whose
// gets are answered by the node that owns the key's partition.
//
// Layout in JetStream (every name fixed here, so nodes of one cluster agree):
//
//   - KV bucket metricsd-config, key "layout": the partition and stream
//     counts, written once by the first node (Create) and read by the rest.
//   - Streams METRICSD_0 ... METRICSD_{S-1}, file storage, R3 (R1 on a lone
//     server): partition p's subject metricsd.p.<p> lives in stream p mod S,
//     so that stream leaders spread over the NATS servers.
//   - KV bucket metricsd-keys: one entry per course key, created (a
//     publish expecting no earlier message on the key's subject) before the
//     key's first point is published; its revision is the key's
//     cluster-wide first-insertion order (what `get *` sorts by).
//   - KV bucket metricsd-owners, key p<p>: the name of the node that owns
//     partition p; a lease renewed by compare-and-set (see lease.go).
//   - KV bucket metricsd-nodes, key <node>: each node's heartbeat.
//   - Object Store bucket metricsd-snapshots, object p<p>.<seq> (seq in 20
//     digits): partition p's engine contents as of stream sequence seq,
//     written by its owner (snapshot.go, format in snapcodec.go); the
//     newest one or two per partition are kept.
//   - Subject metricsd.node.<node>.get: the requests a node answers for the
//     partitions it owns (see read.go for the message format).
//
// A published message is a batch of points of one partition, encoded by
// appendRecord: per point uvarint(len(key)) key uvarint(key revision)
// varint(timestamp) and the value's IEEE bits (8 bytes, big endian). The
// revision of a key's first put on a node is written in once its entry is
// created, as a uvarint padded to 10 bytes (appendRecordRevLater), which
// decodes like the shortest form.
package cluster
