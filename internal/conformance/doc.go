// Package conformance checks a server that claims the metrics protocol
// (docs/protocol.md) against metricsd's behaviour, over TCP: the course's
// acceptance flow, framing, replies, semantics and robustness, each check
// with its own timeout. It is what `metricsd check HOST:PORT` runs.
//
// Every check is PASS (the server answered exactly as metricsd does), FAIL,
// or DIFF: the server answered as the course's reference server does where
// metricsd deliberately differs (docs/protocol.md, "Differences from the
// reference server"). A check sends nothing but protocol lines, and every
// key it stores starts with the configured prefix and a per-run token, so
// the checked server's data stays recognizable and runs don't collide.
package conformance
