package metricsd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkGraphiteIngest streams b.N Graphite plaintext lines into a
// whole server with a data directory, over 1 and 4 connections, under
// --fsync always and interval, and waits until the store holds every
// point; one op is one point. Issue #10 asks that always keep at least
// half the points/s of interval: the receiver submits a read's lines and
// waits for them once, so they share the log's write and fsync (group
// commit) instead of paying one fsync per line.
func BenchmarkGraphiteIngest(b *testing.B) {
	const keys = 1000
	for _, mode := range []FsyncMode{FsyncInterval, FsyncAlways} {
		for _, conns := range []int{1, 4} {
			b.Run(fmt.Sprintf("fsync=%v/conns=%d", mode, conns), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.DataDir = b.TempDir()
				cfg.Fsync = mode
				cfg.SnapshotInterval = -1
				cfg.HTTPAddr, cfg.GraphiteAddr = "", "127.0.0.1:0"
				srv, err := NewServer(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				go srv.Serve(ln)
				b.Cleanup(func() { srv.Shutdown(context.Background()) })
				deadline := time.Now().Add(time.Minute)
				for srv.GraphiteAddr() == nil {
					if time.Now().After(deadline) {
						b.Fatal("no Graphite listener")
					}
					time.Sleep(time.Millisecond) // poll interval
				}
				addr := srv.GraphiteAddr().String()
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				for c := range conns {
					n := b.N / conns
					if c < b.N%conns {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := sendLines(addr, c, conns, keys, n); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				// Graphite has no acknowledgement: the points are in once
				// the store counts them all.
				for {
					if _, points := srv.store.Stats(); points >= b.N {
						break
					}
					if time.Now().After(deadline) {
						b.Fatal("the points never all arrived")
					}
					time.Sleep(100 * time.Microsecond) // poll interval
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}

// sendLines sends n lines as connection c of conns: its own share of the
// keys, each in timestamp order, so every line is a new point.
func sendLines(addr string, c, conns, keys, n int) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, 64<<10)
	own := keys / conns
	var line []byte
	for i := range n {
		line = append(line[:0], "bench.host"...)
		line = strconv.AppendInt(line, int64(c*own+i%own), 10)
		line = append(line, ".cpu "...)
		line = strconv.AppendInt(line, int64(i%100), 10)
		line = append(line, ' ')
		line = strconv.AppendInt(line, 1_700_000_000+int64(i/own), 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return w.Flush()
}
