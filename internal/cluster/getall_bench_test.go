package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/natstest"
	"metricsd/internal/server"
	"metricsd/internal/store"
)

// The data set of BenchmarkGetAll: getAllKeys series of getAllPoints
// points, 1 M points in all (issue #15: `get *` of 1 M points across 3
// nodes at most 1.5 × the single node's time).
const (
	getAllKeys   = 10_000
	getAllPoints = 100
)

// BenchmarkGetAll times `get *` of 1 M points through the protocol server
// (the same session code, over TCP on loopback, the client reading the
// whole answer), first on a single in-memory engine, then on one node of a
// 3-node cluster (3 engines in this process, 3 NATS servers, 64
// partitions), alternated three times in one run so that the ratio compares like
// with like on a shared machine. The cluster's data is published straight
// to the partition streams in 64 KiB batches (puts would take minutes);
// both answers are checked to be byte for byte the same before timing.
//
//	go test -run=NONE -bench=BenchmarkGetAll -benchtime=3x ./internal/cluster
func BenchmarkGetAll(b *testing.B) {
	c := natstest.Start(b, 3)
	nodes := openNodes(b, c, 3, 64)
	keys := loadGetAll(b, nodes[0])
	single := store.NewMemory()
	for _, k := range keys {
		for j := range getAllPoints {
			if err := single.Put([]byte(k), getAllPoint(j)); err != nil {
				b.Fatal(err)
			}
		}
	}
	// What the owners send: the engine's encoded chunks.
	encoded := 0
	if err := single.Snapshot(func(_ uint64, _ []byte, chunks [][]byte) error {
		for _, c := range chunks {
			encoded += len(c)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("encoded chunks: %d bytes, %.2f a point, %d a partition on average",
		encoded, float64(encoded)/(getAllKeys*getAllPoints), encoded/nodes[0].layout.Partitions)
	targets := []struct {
		name string
		addr string
	}{
		{"single", serveBench(b, single)},
		{"cluster3", serveBench(b, nodes[0])},
	}
	// The first cluster read waits for the owners to apply the streams.
	var sums [][32]byte
	for _, tgt := range targets {
		n, sum := readGetAll(b, tgt.addr, true)
		if n == 0 {
			b.Fatalf("%s: empty answer", tgt.name)
		}
		sums = append(sums, sum)
	}
	if sums[0] != sums[1] {
		b.Fatal("the cluster's get * differs from the single node's")
	}
	for range 3 {
		for _, tgt := range targets {
			b.Run(tgt.name, func(b *testing.B) {
				var bytes int64
				cpu := processCPU(b)
				for range b.N {
					n, _ := readGetAll(b, tgt.addr, false)
					bytes += n
				}
				// This process's CPU: the engines and the protocol
				// server (not the NATS servers, other processes).
				b.ReportMetric((processCPU(b)-cpu).Seconds()*1000/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(getAllKeys*getAllPoints)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
				b.SetBytes(bytes / int64(b.N))
			})
		}
	}
}

func getAllKey(i int) string { return fmt.Sprintf("bench.getall.%05d", i) }

func getAllPoint(j int) store.Point {
	return store.Point{Timestamp: 1_700_000_000 + int64(j)*10, Value: float64(j%17) * 0.25}
}

// loadGetAll puts each key's first point through e (32 at a time), which
// creates the keys' order entries, and publishes their other points
// straight to the partition streams, as the writers would; it returns the
// keys in revision order.
func loadGetAll(b *testing.B, e *Engine) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	revs := make([]uint64, getAllKeys)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < getAllKeys; i += 32 {
				// The key's first point goes through Put, which creates
				// its entry in the keys bucket; the revision is read back.
				k := []byte(getAllKey(i))
				if err := e.Put(k, getAllPoint(0)); err != nil {
					errs <- err
					return
				}
				rev, err := readRevision(ctx, e, k)
				if err != nil {
					errs <- err
					return
				}
				revs[i] = rev
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	bufs := make([][]byte, e.layout.Partitions)
	var acks []jetstream.PubAckFuture
	flush := func(p int) {
		f, err := e.js.PublishAsync(partSubject(p), bufs[p])
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, f)
		bufs[p] = nil
	}
	for i := range getAllKeys {
		k := []byte(getAllKey(i))
		p := PartitionOf(k, e.layout.Partitions)
		for j := 1; j < getAllPoints; j++ {
			bufs[p] = appendRecord(bufs[p], k, revs[i], getAllPoint(j))
			if len(bufs[p]) > maxBatchBytes-64 {
				flush(p)
			}
		}
	}
	for p := range bufs {
		if len(bufs[p]) > 0 {
			flush(p)
		}
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
	}
	order := make([]int, getAllKeys)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return int(revs[x]) - int(revs[y]) })
	keys := make([]string, getAllKeys)
	for i, o := range order {
		keys[i] = getAllKey(o)
	}
	return keys
}

// readRevision reads key's revision from the keys bucket, polling: a
// bucket's reads may be served by a replica that has not got the entry
// yet.
func readRevision(ctx context.Context, e *Engine, key []byte) (uint64, error) {
	name, _ := kvKey(key)
	for {
		entry, err := e.keys.Get(ctx, name)
		if err == nil {
			return entry.Revision(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0, err
		}
		select {
		case <-time.After(time.Millisecond): // poll interval
		case <-ctx.Done():
			return 0, fmt.Errorf("revision of %q: %w", key, ctx.Err())
		}
	}
}

// serveBench serves the protocol from st on a loopback port.
func serveBench(b *testing.B, st store.Engine) string {
	srv, err := server.New(server.Config{Storage: st, MaxLineLength: 64 << 10})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// readGetAll sends `get *` and reads the whole answer; it returns its size
// and, when hash is set, its SHA-256 (the timed reads only read).
func readGetAll(b *testing.B, addr string, hash bool) (int64, [32]byte) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(c, "get *\n"); err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var n int64
	var prev byte // the byte before buf's, for an end split over two reads
	for {
		k, err := c.Read(buf)
		if k > 0 {
			if hash {
				h.Write(buf[:k])
			}
			n += int64(k)
			// The answer ends with an empty line, and no point line is
			// empty, so "\n\n" is its end.
			end := k >= 2 && buf[k-2] == '\n' && buf[k-1] == '\n' || k == 1 && prev == '\n' && buf[0] == '\n'
			prev = buf[k-1]
			if end {
				var sum [32]byte
				h.Sum(sum[:0])
				return n, sum
			}
		}
		if err != nil {
			b.Fatalf("get * on %s: %v after %d bytes", addr, err, n)
		}
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
