// Package cluster holds the end-to-end tests of cluster mode (issue #15):
// real `metricsd serve --cluster` processes on a 3-server NATS JetStream
// cluster (internal/natstest), all on loopback, with clients on every node,
// nodes and NATS servers killed (SIGKILL) or paused (SIGSTOP) under load.
// The package has only tests.
package cluster
