package graphite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"metricsd/internal/store"
)

func BenchmarkParseLine(b *testing.B) {
	line := []byte("collectd.web01.cpu-0.cpu-idle 98.25 1500000000\n")
	var l Line
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := ParseLine(line, &l); err != nil {
			b.Fatal(err)
		}
	}
}

// agentLines returns n plaintext lines over keys series of an agent, one
// point per key per second in time order, values with two decimals: the
// shape of a collectd or Telegraf feed.
func agentLines(agent, n, keys int) []byte {
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "agent%d.host%03d.cpu.usage_idle %d.%02d %d\n", agent, i%keys, i%100, i%97, 1500000000+i/keys)
	}
	return buf.Bytes()
}

// BenchmarkReceiverTCP measures ingest end to end: lines streamed over
// loopback TCP by the given number of connections (each an agent with its
// own 1,000 series), parsed and stored in a memory store; the clock stops
// when the receiver has stored them all.
func BenchmarkReceiverTCP(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			const linesPerConn = 100_000
			inputs := make([][]byte, conns)
			for i := range inputs {
				inputs[i] = agentLines(i, linesPerConn, 1000)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(inputs[0]) * conns))
			for b.Loop() {
				b.StopTimer()
				st := store.NewMemory()
				rcv, err := NewReceiver(ReceiverConfig{Storage: st, MaxLineLength: 1024})
				if err != nil {
					b.Fatal(err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- rcv.Serve(ln) }()
				b.StartTimer()
				sendConcurrently(b, ln.Addr().String(), inputs)
				want := float64(conns * linesPerConn)
				deadline := time.Now().Add(time.Minute)
				for testutil.ToFloat64(rcv.metrics.tcp.stored) < want {
					if time.Now().After(deadline) {
						b.Fatalf("stored %v of %v lines", testutil.ToFloat64(rcv.metrics.tcp.stored), want)
					}
					time.Sleep(100 * time.Microsecond) // poll interval
				}
				b.StopTimer()
				rcv.Shutdown(context.Background())
				<-done
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*conns*linesPerConn)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// sendConcurrently writes each input on its own connection, all at once,
// and closes them.
func sendConcurrently(b *testing.B, addr string, inputs [][]byte) {
	errs := make(chan error, len(inputs))
	for _, input := range inputs {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			_, err = io.Copy(c, bytes.NewReader(input))
			c.Close()
			errs <- err
		}()
	}
	for range inputs {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatternMatch(b *testing.B) {
	key := []byte("collectd.web042.cpu-3.cpu-idle")
	for _, pattern := range []string{
		"collectd.web042.cpu-3.cpu-idle",
		"collectd.*.cpu-*.cpu-idle",
		"collectd.web0[0-9][0-9].{cpu-0,cpu-1,cpu-2,cpu-3}.cpu-idle",
		"collectd.web???.cpu-?.*idle",
	} {
		p, err := CompilePattern(pattern)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(pattern, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !p.Match(key) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// benchStore holds keys series of points points each, one per 10 s.
func benchStore(b *testing.B, keys, points int) *store.Memory {
	b.Helper()
	st := store.NewMemory()
	for k := range keys {
		key := fmt.Appendf(nil, "host%04d.cpu.usage_idle", k)
		for i := range points {
			st.Put(key, store.Point{Timestamp: 1500000000 + int64(i)*10, Value: float64(i%100) + 0.25})
		}
	}
	return st
}

// BenchmarkFind is Grafana's tree browser over 10,000 series of 100
// points: the scan of every key, through Storage.All, dominates.
func BenchmarkFind(b *testing.B) {
	st := benchStore(b, 10_000, 100)
	p, err := CompilePattern("host00*.cpu")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		nodes, err := Find(context.Background(), st, p)
		if err != nil || len(nodes) != 100 {
			b.Fatalf("Find = %d nodes, %v", len(nodes), err)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkRenderJSON renders 10 series of 100,000 points each.
func BenchmarkRenderJSON(b *testing.B) {
	const keys, points = 10, 100_000
	st := benchStore(b, keys, points)
	for _, max := range []int{0, 1000} {
		b.Run(fmt.Sprintf("maxDataPoints=%d", max), func(b *testing.B) {
			// The range of the data: (first point - 1 s, last point].
			req := RenderRequest{Targets: mustTargets(b, "host*.cpu.usage_idle"),
				From: 1500000000 - 1, Until: 1500000000 + (points-1)*10, MaxDataPoints: max}
			var n countWriter
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(context.Background(), &n, st, req); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n.n / int64(b.N))
			b.ReportMetric(float64(b.N*keys*points)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// countWriter discards what it is given, counting it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// collectdDatagram is a datagram as collectd's write_graphite fills one
// (its buffer is 1,428 bytes): whole lines of one host's readings.
func collectdDatagram() []byte {
	var buf bytes.Buffer
	for i := 0; ; i++ {
		line := fmt.Sprintf("collectd.web01.cpu-%d.cpu-idle %d.%06d 1500000000\n", i%8, 90+i%10, i*7919%1000000)
		if buf.Len()+len(line) > 1428 {
			return buf.Bytes()
		}
		buf.WriteString(line)
	}
}

// BenchmarkDatagram measures the UDP listener's work per datagram after
// the read: split into lines, parse, store into a memory store, count.
// Compare its ns per line with BenchmarkParseLine in the same run.
func BenchmarkDatagram(b *testing.B) {
	d := collectdDatagram()
	rcv, err := NewReceiver(ReceiverConfig{Storage: store.NewMemory(), MaxLineLength: 1024})
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Count(d, []byte{'\n'})
	var dg datagram
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		dg.handle(rcv, d)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
