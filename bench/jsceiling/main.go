// Command jsceiling measures JetStream alone on this machine: acknowledged
// publishes per second and MB/s into file streams replicated like
// metricsd's (R3 on a 3-server cluster), with the message sizes metricsd's
// group commit produces, published synchronously (each publisher waits for
// its ack, as a metricsd partition writer does per batch) and
// asynchronously (a window of publishes awaiting their acks). It is the
// ceiling the cluster engine's put rate is compared with (docs/cluster.md,
// "Measured"); bench/cluster.sh runs it against the NATS servers it starts.
//
//	go run ./bench/jsceiling --urls nats://127.0.0.1:35001,nats://127.0.0.1:35002,nats://127.0.0.1:35003
//
// It creates its own streams (JSCEIL_0..), deletes them at the end, and
// never touches metricsd's. Every publish carries a Nats-Msg-Id, as
// metricsd's do, so the servers do the same duplicate tracking.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pointBytes is the size of one point in a metricsd batch for a key like
// "bench.000123": a uvarint key length, the 12-byte key, a 2 to 3-byte
// uvarint revision, a 5-byte varint unix timestamp and 8 value bytes
// (internal/cluster's appendRecord).
const pointBytes = 28

// maxBatchBytes is metricsd's bound on one published batch (64 KiB,
// internal/cluster's maxBatchBytes).
const maxBatchBytes = 64 << 10

// config is one invocation's settings.
type config struct {
	urls     []string
	streams  int           // streams the subjects are spread over (metricsd: min(partitions, 6))
	subjects int           // subjects (metricsd: one per partition, 64)
	replicas int           // 3 on a 3-server cluster
	conns    int           // sync: concurrent publishers; async: publishers sharing the window
	window   int           // async: publishes awaiting their acks at once
	duration time.Duration // length of each measurement
	points   []int         // points per message, one measurement each
	modes    []string      // "sync", "async"
	pids     []int         // processes whose CPU each measurement reports (the NATS servers)
	asJSON   bool
}

// result is one measurement.
type result struct {
	Mode          string  `json:"mode"`
	Points        int     `json:"points_per_msg"`
	MsgBytes      int     `json:"msg_bytes"`
	Conns         int     `json:"conns"`
	Window        int     `json:"window,omitempty"`
	Acks          int64   `json:"acks"`
	Seconds       float64 `json:"seconds"`
	AcksPerSecond float64 `json:"acks_per_second"`
	MBPerSecond   float64 `json:"mb_per_second"`
	PointsPerSec  float64 `json:"points_per_second"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
	// PidsCPUus is the CPU (user + system) the --pids processes used
	// during the measurement, per ack, in microseconds; 0 without --pids.
	PidsCPUus float64 `json:"pids_cpu_us_per_ack,omitempty"`
	// PidsCores is that CPU over the measurement's wall time, in cores.
	PidsCores float64 `json:"pids_cores,omitempty"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "jsceiling:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jsceiling:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("jsceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var urls, points, modes, pids string
	fs.StringVar(&urls, "urls", "", "NATS client `URLs`, comma-separated (required)")
	fs.IntVar(&cfg.streams, "streams", 6, "`streams` the subjects are spread over")
	fs.IntVar(&cfg.subjects, "subjects", 64, "`subjects` published to in turn (metricsd: one per partition)")
	fs.IntVar(&cfg.replicas, "replicas", 3, "stream `replicas`")
	fs.IntVar(&cfg.conns, "c", 64, "concurrent `publishers`")
	fs.IntVar(&cfg.window, "window", 256, "async: publishes awaiting their acks at once (metricsd: 4 a partition)")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each measurement")
	fs.StringVar(&points, "points", "1,16,256,2340", "points per message, comma-separated (2340 × 28 B fills metricsd's 64 KiB batch)")
	fs.StringVar(&modes, "modes", "sync,async", "publish modes, comma-separated: sync, async")
	fs.StringVar(&pids, "pids", "", "`PIDs` (comma-separated) whose CPU each measurement reports: the NATS servers")
	fs.BoolVar(&cfg.asJSON, "json", false, "one JSON object a measurement instead of a table")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.urls = append(cfg.urls, u)
		}
	}
	var err error
	if cfg.points, err = ints(points); err != nil {
		return cfg, fmt.Errorf("--points: %w", err)
	}
	if cfg.pids, err = ints(pids); err != nil {
		return cfg, fmt.Errorf("--pids: %w", err)
	}
	for _, m := range strings.Split(modes, ",") {
		if m != "sync" && m != "async" {
			return cfg, fmt.Errorf("--modes: %q is not sync or async", m)
		}
		cfg.modes = append(cfg.modes, m)
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case len(c.urls) == 0:
		return errors.New("--urls is required")
	case c.streams < 1 || c.subjects < c.streams:
		return fmt.Errorf("need 1 ≤ streams (%d) ≤ subjects (%d)", c.streams, c.subjects)
	case c.replicas < 1 || c.conns < 1 || c.window < 1 || c.duration <= 0:
		return errors.New("replicas, -c, --window and --duration must be positive")
	case len(c.points) == 0:
		return errors.New("--points is empty")
	}
	for _, n := range c.points {
		if n < 1 || n*pointBytes > maxBatchBytes {
			return fmt.Errorf("%d points a message: want 1 to %d (metricsd's 64 KiB batch)", n, maxBatchBytes/pointBytes)
		}
	}
	return nil
}

// ints parses a comma-separated list of positive integers ("" is none).
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// run creates the streams, makes every measurement, prints each and
// deletes the streams.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	nc, err := nats.Connect(strings.Join(cfg.urls, ","), nats.Timeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	// Each publisher bounds its own share of the window; the context's
	// bound, above the window by one held and one being sent a publisher,
	// only guards against a bug.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.window+2*cfg.conns))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	names, err := createStreams(ctx, js, cfg)
	defer func() {
		for _, name := range names {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if derr := js.DeleteStream(dctx, name); derr != nil && err == nil {
				err = fmt.Errorf("delete stream %s: %w", name, derr)
			}
			cancel()
		}
	}()
	if err != nil {
		return err
	}
	if !cfg.asJSON {
		fmt.Fprintf(out, "%-6s %7s %9s %12s %9s %13s %9s %9s %s\n",
			"mode", "points", "msg B", "acks/s", "MB/s", "points/s", "p50 µs", "p99 µs", "servers' CPU")
	}
	for _, mode := range cfg.modes {
		for _, points := range cfg.points {
			res, err := measure(ctx, js, cfg, mode, points)
			if err != nil {
				return err
			}
			if err := printResult(out, res, cfg.asJSON); err != nil {
				return err
			}
		}
	}
	return nil
}

// createStreams makes cfg.streams file streams, subject jsceil.p.<i> going
// to stream JSCEIL_<i mod streams>, as metricsd lays out its partitions.
func createStreams(ctx context.Context, js jetstream.JetStream, cfg config) ([]string, error) {
	var names []string
	for s := range cfg.streams {
		var subjects []string
		for p := s; p < cfg.subjects; p += cfg.streams {
			subjects = append(subjects, subject(p))
		}
		name := fmt.Sprintf("JSCEIL_%d", s)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := js.CreateStream(sctx, jetstream.StreamConfig{
			Name: name, Subjects: subjects, Replicas: cfg.replicas, Storage: jetstream.FileStorage,
			Duplicates: 2 * time.Minute,
		})
		cancel()
		if err != nil {
			return names, fmt.Errorf("create stream %s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

func subject(p int) string { return "jsceil.p." + strconv.Itoa(p) }

// latencyMax bounds a recorded ack latency (µs): a minute.
const latencyMax = 60_000_000

// tally is what one publisher counted.
type tally struct {
	acks int64
	hist *hdrhistogram.Histogram
	err  error
}

// measure publishes for cfg.duration in mode and reports what was
// acknowledged.
func measure(ctx context.Context, js jetstream.JetStream, cfg config, mode string, points int) (result, error) {
	payload := make([]byte, points*pointBytes)
	for i := range payload {
		payload[i] = byte(i*7 + 1)
	}
	cpu0, err := cpuSeconds(cfg.pids)
	if err != nil {
		return result{}, err
	}
	var boot = strconv.FormatInt(time.Now().UnixNano(), 36)
	var seq atomic.Int64
	tallies := make([]tally, cfg.conns)
	stop := time.Now().Add(cfg.duration)
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.conns {
		t := &tallies[i]
		t.hist = hdrhistogram.New(1, latencyMax, 3)
		wg.Go(func() {
			if mode == "sync" {
				t.err = publishSync(ctx, js, cfg, i, payload, boot, &seq, stop, t)
			} else {
				t.err = publishAsync(js, cfg, i, payload, boot, &seq, stop, t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin).Seconds()
	cpu1, err := cpuSeconds(cfg.pids)
	if err != nil {
		return result{}, err
	}
	res := result{Mode: mode, Points: points, MsgBytes: len(payload), Conns: cfg.conns, Seconds: elapsed}
	if mode == "async" {
		res.Window = cfg.window
	}
	hist := hdrhistogram.New(1, latencyMax, 3)
	for _, t := range tallies {
		if t.err != nil {
			return res, fmt.Errorf("%s, %d points a message: %w", mode, points, t.err)
		}
		res.Acks += t.acks
		hist.Merge(t.hist)
	}
	if res.Acks == 0 {
		return res, fmt.Errorf("%s, %d points a message: no publish was acknowledged", mode, points)
	}
	res.AcksPerSecond = float64(res.Acks) / elapsed
	res.MBPerSecond = res.AcksPerSecond * float64(len(payload)) / 1e6
	res.PointsPerSec = res.AcksPerSecond * float64(points)
	res.P50us = float64(hist.ValueAtQuantile(50))
	res.P99us = float64(hist.ValueAtQuantile(99))
	if len(cfg.pids) > 0 {
		res.PidsCPUus = (cpu1 - cpu0) * 1e6 / float64(res.Acks)
		res.PidsCores = (cpu1 - cpu0) / elapsed
	}
	return res, nil
}

// publishSync publishes one message at a time, waiting for each ack, from
// publisher i to the subjects i, i+conns, ... in turn.
func publishSync(ctx context.Context, js jetstream.JetStream, cfg config, i int, payload []byte,
	boot string, seq *atomic.Int64, stop time.Time, t *tally) error {
	for n := 0; time.Now().Before(stop); n++ {
		subj := subject((i + n*cfg.conns) % cfg.subjects)
		id := boot + "-" + strconv.FormatInt(seq.Add(1), 10)
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := js.Publish(pctx, subj, payload, jetstream.WithMsgID(id))
		cancel()
		if err != nil {
			return fmt.Errorf("publish to %s: %w", subj, err)
		}
		t.acks++
		if err := t.hist.RecordValue(time.Since(start).Microseconds()); err != nil {
			return fmt.Errorf("record latency: %w", err)
		}
	}
	return nil
}

// pending is one asynchronous publish awaiting its ack.
type pending struct {
	ack   jetstream.PubAckFuture
	start time.Time
}

// publishAsync publishes without waiting, up to cfg.window/cfg.conns
// publishes of this publisher awaiting their acks at once (cfg.window over
// all publishers), and collects the acks in order.
func publishAsync(js jetstream.JetStream, cfg config, i int, payload []byte,
	boot string, seq *atomic.Int64, stop time.Time, t *tally) error {
	inFlight := make(chan pending, max(1, cfg.window/cfg.conns))
	var collectErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for p := range inFlight {
			if collectErr != nil {
				continue
			}
			select {
			case <-p.ack.Ok():
				t.acks++
				if err := t.hist.RecordValue(time.Since(p.start).Microseconds()); err != nil {
					collectErr = fmt.Errorf("record latency: %w", err)
				}
			case err := <-p.ack.Err():
				collectErr = fmt.Errorf("async publish: %w", err)
			case <-time.After(15 * time.Second):
				collectErr = errors.New("async publish: no ack within 15 s")
			}
		}
	})
	var err error
	for n := 0; time.Now().Before(stop); n++ {
		subj := subject((i + n*cfg.conns) % cfg.subjects)
		id := boot + "-" + strconv.FormatInt(seq.Add(1), 10)
		start := time.Now()
		var ack jetstream.PubAckFuture
		if ack, err = js.PublishAsync(subj, payload, jetstream.WithMsgID(id)); err != nil {
			err = fmt.Errorf("async publish to %s: %w", subj, err)
			break
		}
		// Blocks while this publisher's share of the window is full: the
		// collector takes one out only once its ack is in.
		inFlight <- pending{ack, start}
	}
	close(inFlight)
	wg.Wait()
	return errors.Join(err, collectErr)
}

// printResult writes one measurement as a table row or a JSON line.
func printResult(out io.Writer, r result, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	cpu := "-"
	if r.PidsCores > 0 {
		cpu = fmt.Sprintf("%.2f cores, %.0f µs/ack", r.PidsCores, r.PidsCPUus)
	}
	_, err := fmt.Fprintf(out, "%-6s %7d %9d %12.0f %9.2f %13.0f %9.0f %9.0f %s\n",
		r.Mode, r.Points, r.MsgBytes, r.AcksPerSecond, r.MBPerSecond, r.PointsPerSec, r.P50us, r.P99us, cpu)
	return err
}

// cpuSeconds sums the user and system CPU of pids from /proc/PID/stat
// (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuSeconds(pids []int) (float64, error) {
	var total float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("CPU of pid %d: %w", pid, err)
		}
		// The command name (field 2) is in parentheses and may hold
		// spaces: count fields after its closing one.
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			return 0, fmt.Errorf("CPU of pid %d: unreadable /proc stat", pid)
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			return 0, fmt.Errorf("CPU of pid %d: short /proc stat", pid)
		}
		for _, v := range f[11:13] { // utime, stime: fields 14, 15
			ticks, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("CPU of pid %d: %w", pid, err)
			}
			total += ticks / 100
		}
	}
	return total, nil
}
