package crash

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// BenchmarkServerPut measures put throughput of the real binary over TCP
// on loopback with 50 concurrent clients, in memory and with each fsync
// mode. pipeline=1 is a client that waits for each ok (the course's
// client); pipeline=64 sends 64 puts in one write and then reads the 64
// answers.
func BenchmarkServerPut(b *testing.B) {
	const clients = 50
	for _, mode := range []struct {
		name  string
		flags []string
	}{
		{"in-memory", []string{"--in-memory"}},
		{"never", []string{"--fsync", "never"}},
		{"interval", []string{"--fsync", "interval"}},
		{"always", []string{"--fsync", "always"}},
	} {
		for _, window := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d/pipeline=%d", mode.name, clients, window), func(b *testing.B) {
				flags := mode.flags
				if mode.name != "in-memory" {
					flags = append([]string{"--data-dir", b.TempDir()}, flags...)
				}
				srv := startServer(b, flags...)
				conns := make([]net.Conn, clients)
				for i := range conns {
					c, err := net.Dial("tcp", srv.addr)
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					conns[i] = c
				}
				b.ResetTimer()
				var wg sync.WaitGroup
				for i, c := range conns {
					n := b.N / clients
					if i < b.N%clients {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := benchPuts(c, i, n, window); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
				srv.Kill()
			})
		}
	}
}

// benchPuts makes n puts on c as client id, window per write.
func benchPuts(c net.Conn, id, n, window int) error {
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	r := bufio.NewReader(c)
	var buf []byte
	for sent := 0; sent < n; {
		buf = buf[:0]
		k := min(window, n-sent)
		for j := range k {
			i := sent + j
			buf = fmt.Appendf(buf, "put host%03d.cpu %d.5 %d\n", (id*7919+i)%1000, i%100, 1_700_000_000+i)
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
		for range k {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return err
			}
			if !bytes.Equal(line, []byte("ok\n")) {
				return fmt.Errorf("put answered %q", line)
			}
			if _, err := r.Discard(1); err != nil {
				return err
			}
		}
		sent += k
	}
	return nil
}
