package graphite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait in these tests, so that a bug fails instead
// of hanging the suite.
const testTimeout = 10 * time.Second

// fixedNow is the clock of the tests: lines asking for "now" get it.
var fixedNow = time.Unix(1700000000, 0)

type testReceiver struct {
	rcv   *Receiver
	addr  string
	store *store.Memory
	reg   *prometheus.Registry
}

// startReceiver serves cfg (with a fresh memory store, registry and fixed
// clock unless cfg has them) on an ephemeral loopback port until the test
// ends.
func startReceiver(t *testing.T, cfg ReceiverConfig) *testReceiver {
	t.Helper()
	st := store.NewMemory()
	reg := prometheus.NewRegistry()
	if cfg.Storage == nil {
		cfg.Storage = st
	}
	if cfg.MaxLineLength == 0 {
		cfg.MaxLineLength = 1024
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	cfg.Registerer = reg
	rcv, err := NewReceiver(cfg)
	if err != nil {
		t.Fatalf("NewReceiver: %v", err)
	}
	addr := testnet.Serve(t, rcv, ErrReceiverClosed)
	return &testReceiver{rcv: rcv, addr: addr, store: st, reg: reg}
}

func (tr *testReceiver) dial(t *testing.T) net.Conn {
	t.Helper()
	return testnet.Dial(t, tr.addr)
}

// send writes each chunk in its own Write, then closes the connection and
// waits until the receiver has finished with it, so that every complete
// line sent has been handled.
func (tr *testReceiver) send(t *testing.T, chunks ...string) {
	t.Helper()
	before := testutil.ToFloat64(tr.rcv.metrics.connections)
	c := tr.dial(t)
	// Wait for the session to start, so that "open back to 0" below means
	// this connection ended rather than that it was not yet accepted.
	testnet.WaitFor(t, "connection accepted", func() bool {
		return testutil.ToFloat64(tr.rcv.metrics.connections) > before
	})
	for _, ch := range chunks {
		if _, err := io.WriteString(c, ch); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	c.Close()
	testnet.WaitFor(t, "connection handled", func() bool { return testutil.ToFloat64(tr.rcv.metrics.open) == 0 })
}

// points returns the stored points of key as "value@ts" strings.
func points(t *testing.T, st store.Storage, key string) []string {
	t.Helper()
	var out []string
	err := st.Get([]byte(key), func(_ []byte, pts []store.Point) error {
		for _, p := range pts {
			out = append(out, fmt.Sprintf("%v@%d", p.Value, p.Timestamp))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return out
}

func (tr *testReceiver) dropped(reason string) float64 {
	return testutil.ToFloat64(tr.rcv.metrics.tcp.dropped[reasonIndex(reason)])
}

func TestReceiverStoresAgentLines(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{})
	tr.send(t,
		// collectd's write_graphite, Telegraf's graphite serializer, statsd's
		// flush and a hand-typed "now" line.
		"collectd.web1.cpu-0.cpu-idle 98.600000 1500000000\n",
		"telegraf.web1.cpu.usage_idle 99.5 1500000010\r\n",
		"stats.counters.hits.count 3 1500000000\n",
		"manual.test 42 -1\n",
		"manual.test 43 N\n", // same second as the line above: last write wins
		"collectd.web1.cpu-0.cpu-idle 97 1500000010\n",
	)
	want := map[string][]string{
		"collectd.web1.cpu-0.cpu-idle": {"98.6@1500000000", "97@1500000010"},
		"telegraf.web1.cpu.usage_idle": {"99.5@1500000010"},
		"stats.counters.hits.count":    {"3@1500000000"},
		"manual.test":                  {"43@1700000000"},
	}
	for key, w := range want {
		if got := points(t, tr.store, key); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", key, got, w)
		}
	}
	if got := testutil.ToFloat64(tr.rcv.metrics.tcp.stored); got != 6 {
		t.Errorf("stored = %v, want 6", got)
	}
}

func TestReceiverSkipsBadLinesAndGoesOn(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{MaxLineLength: 64})
	tr.send(t,
		"good.one 1 100\n",
		"only two\n",
		"bad.value x 100\n",
		"bad.time 1 yesterday\n",
		"nan.value nan 100\n",
		"bad\xff.utf8 1 100\n",
		strings.Repeat("x", 100)+" 1 100\n",
		"good.two 2 100\n",
	)
	for key, want := range map[string]string{"good.one": "[1@100]", "good.two": "[2@100]"} {
		if got := fmt.Sprint(points(t, tr.store, key)); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	for _, r := range []string{ReasonFormat, ReasonValue, ReasonTimestamp, ReasonNaN, ReasonUTF8, ReasonTooLong} {
		if got := tr.dropped(r); got != 1 {
			t.Errorf("dropped{%s} = %v, want 1", r, got)
		}
	}
	if got := tr.dropped(ReasonStore); got != 0 {
		t.Errorf("dropped{store} = %v, want 0", got)
	}
}

// TestReceiverAnySplit sends the same lines cut at every byte position, and
// one byte per write: framing must not depend on how TCP segments the input.
func TestReceiverAnySplit(t *testing.T) {
	input := "a.b 1 10\nc.d 2.5 -1\nbad line\ne.f 3 30\n"
	tr := startReceiver(t, ReceiverConfig{})
	for cut := 0; cut <= len(input); cut++ {
		tr.send(t, input[:cut], input[cut:])
	}
	var oneByte []string
	for i := range len(input) {
		oneByte = append(oneByte, input[i:i+1])
	}
	tr.send(t, oneByte...)
	runs := float64(len(input) + 2)
	if got := testutil.ToFloat64(tr.rcv.metrics.tcp.stored); got != 3*runs {
		t.Errorf("stored = %v, want %v", got, 3*runs)
	}
	if got := tr.dropped(ReasonFormat); got != runs {
		t.Errorf("dropped{format} = %v, want %v", got, runs)
	}
	if got := fmt.Sprint(points(t, tr.store, "c.d")); got != "[2.5@1700000000]" {
		t.Errorf("c.d = %s", got)
	}
}

func TestReceiverDropsPartialLastLine(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{})
	tr.send(t, "a 1 1\nb 2 2")
	if got := points(t, tr.store, "b"); len(got) != 0 {
		t.Errorf("partial line stored: %v", got)
	}
	if got := points(t, tr.store, "a"); len(got) != 1 {
		t.Errorf("a = %v", got)
	}
}

func TestReceiverConcurrentAgents(t *testing.T) {
	const agents, lines = 8, 500
	tr := startReceiver(t, ReceiverConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", tr.addr, testTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			var buf bytes.Buffer
			for i := range lines {
				fmt.Fprintf(&buf, "agent%d.metric %d %d\n", a, i, i)
			}
			if _, err := c.Write(buf.Bytes()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "all lines stored", func() bool {
		return testutil.ToFloat64(tr.rcv.metrics.tcp.stored) == agents*lines
	})
	for a := range agents {
		if got := len(points(t, tr.store, fmt.Sprintf("agent%d.metric", a))); got != lines {
			t.Errorf("agent %d: %d points, want %d", a, got, lines)
		}
	}
}

// failingStore refuses every put, as a full or failed engine would.
type failingStore struct{ store.Storage }

func (failingStore) Put([]byte, store.Point) error { return store.ErrLimit }

func TestReceiverCountsStorageRefusals(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{Storage: failingStore{store.NewMemory()}})
	tr.send(t, "a 1 1\nb 2 2\n")
	if got := tr.dropped(ReasonStore); got != 2 {
		t.Errorf("dropped{store} = %v, want 2", got)
	}
}

func TestReceiverMaxConns(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{MaxConns: 1})
	first := tr.dial(t)
	testnet.WaitFor(t, "first connection open", func() bool { return testutil.ToFloat64(tr.rcv.metrics.open) == 1 })
	second := tr.dial(t)
	if _, err := io.Copy(io.Discard, second); err != nil {
		t.Fatalf("second connection: %v (want closed by the receiver)", err)
	}
	if got := testutil.ToFloat64(tr.rcv.metrics.refused); got != 1 {
		t.Errorf("refused = %v, want 1", got)
	}
	io.WriteString(first, "still.works 1 1\n")
	first.Close()
	testnet.WaitFor(t, "line stored", func() bool { return len(points(t, tr.store, "still.works")) == 1 })
}

func TestReceiverIdleTimeout(t *testing.T) {
	tr := startReceiver(t, ReceiverConfig{IdleTimeout: 50 * time.Millisecond})
	c := tr.dial(t)
	io.WriteString(c, "a 1 1\n")
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("idle connection: %v (want closed by the receiver)", err)
	}
	if got := points(t, tr.store, "a"); len(got) != 1 {
		t.Errorf("a = %v", got)
	}
}

// TestReceiverShutdownStoresBufferedLines checks that Shutdown ends a
// connection that stays open, after storing the lines it had sent.
func TestReceiverShutdownStoresBufferedLines(t *testing.T) {
	st := store.NewMemory()
	rcv, err := NewReceiver(ReceiverConfig{Storage: st, MaxLineLength: 100})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rcv.Serve(ln) }()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "kept 1 1\n")
	testnet.WaitFor(t, "line stored", func() bool { return len(points(t, st, "kept")) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := rcv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrReceiverClosed) {
		t.Errorf("Serve = %v, want ErrReceiverClosed", err)
	}
	if err := rcv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Serve(ln2); !errors.Is(err, ErrReceiverClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrReceiverClosed", err)
	}
}

// recordingHandler keeps the warnings logged, for the rate-limit test.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelWarn {
		h.records = append(h.records, r.Clone())
	}
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) warnings() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func TestReceiverRateLimitsWarnings(t *testing.T) {
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	h := &recordingHandler{}
	tr := startReceiver(t, ReceiverConfig{Logger: slog.New(h), Now: clock, LogInterval: time.Minute})
	tr.send(t, strings.Repeat("bad\n", 100))
	if w := h.warnings(); len(w) != 1 || attr(w[0], "reason") != ReasonFormat || attr(w[0], "line") != "bad" {
		t.Fatalf("warnings after a flood = %v, want one about the first line", w)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	tr.send(t, "x y z\n")
	w := h.warnings()
	if len(w) != 2 || attr(w[1], "suppressed") != "99" || attr(w[1], "reason") != ReasonValue {
		t.Fatalf("warnings = %v, want a second one with suppressed=99", w)
	}
	tr.send(t, "nan.is.quiet nan 1\n")
	if got := len(h.warnings()); got != 2 {
		t.Errorf("a NaN line logged a warning")
	}
}

func TestNewReceiverRejectsBadConfig(t *testing.T) {
	st := store.NewMemory()
	for _, cfg := range []ReceiverConfig{
		{MaxLineLength: 10},
		{Storage: st},
		{Storage: st, MaxLineLength: 10, MaxConns: -1},
		{Storage: st, MaxLineLength: 10, IdleTimeout: -time.Second},
	} {
		if _, err := NewReceiver(cfg); err == nil {
			t.Errorf("NewReceiver(%+v) succeeded", cfg)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := NewReceiver(ReceiverConfig{Storage: st, MaxLineLength: 10, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReceiver(ReceiverConfig{Storage: st, MaxLineLength: 10, Registerer: reg}); err == nil {
		t.Error("second receiver on one registry: want a registration error")
	}
}
