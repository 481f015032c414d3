package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"metricsd/internal/store"
)

// countStored counts the points st holds.
func countStored(t *testing.T, st *store.Memory) int64 {
	t.Helper()
	_, points := st.Stats()
	return int64(points)
}

func TestRunAgainstServer(t *testing.T) {
	tests := []struct {
		name       string
		workload   Workload
		conns, p   int
		requests   int64
		wantPoints func(stored int64) int64 // points the gets should read
	}{
		{"put no pipelining", WorkloadPut, 3, 1, 300, nil},
		{"put pipelined", WorkloadPut, 4, 16, 2000, nil},
		{"put window larger than the run", WorkloadPut, 2, 64, 10, nil}, // spread: one window takes all
		{"put more connections than keys spread", WorkloadPut, 60, 1, 600, nil},
		{"get", WorkloadGet, 2, 4, 100, func(stored int64) int64 { return 100 * stored / 50 }},
		{"getall", WorkloadGetAll, 2, 1, 6, func(stored int64) int64 { return 6 * stored }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			addr := startServer(t, st)
			spread := strings.Contains(tc.name, "window larger") || strings.Contains(tc.name, "spread")
			if tc.wantPoints != nil { // load 50 keys x 10 points first
				load := testConfig(addr)
				load.Connections, load.Requests = 2, 500 // 25 keys each, 10 rounds
				if res, err := run(t, load); err != nil || res.Errors.Total != 0 {
					t.Fatalf("load: %v, %+v", err, res.Errors)
				}
			}
			cfg := testConfig(addr)
			cfg.Workload, cfg.Connections, cfg.Pipeline, cfg.Requests = tc.workload, tc.conns, tc.p, tc.requests
			cfg.Spread = spread
			res, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != tc.requests || res.OK != tc.requests || res.Errors.Total != 0 {
				t.Fatalf("requests %d ok %d errors %+v, want %d, all ok", res.Requests, res.OK, res.Errors, tc.requests)
			}
			if res.Latency == nil || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P999 {
				t.Fatalf("latency %+v: want positive, ordered percentiles", res.Latency)
			}
			if res.Latency.Samples != tc.requests {
				t.Errorf("%d latencies recorded, want one per request (%d)", res.Latency.Samples, tc.requests)
			}
			stored := countStored(t, st)
			if tc.wantPoints == nil {
				if stored != tc.requests { // in-order timestamps: every put is a new point
					t.Errorf("server stored %d points, want %d", stored, tc.requests)
				}
				return
			}
			if want := tc.wantPoints(stored); res.PointsRead != want {
				t.Errorf("read %d points, want %d", res.PointsRead, want)
			}
		})
	}
}

// TestRunSpreadsOverTargets: with several comma-separated targets,
// connection i puts to the (i mod n)-th, so each server stores exactly the
// keys of its connections, and one result counts them all.
func TestRunSpreadsOverTargets(t *testing.T) {
	stores := []*store.Memory{store.NewMemory(), store.NewMemory(), store.NewMemory()}
	var addrs []string
	for _, st := range stores {
		addrs = append(addrs, startServer(t, st))
	}
	cfg := testConfig(strings.Join(addrs, ","))
	cfg.Connections, cfg.Keys, cfg.Requests = 6, 60, 600 // each connection: 10 keys, 10 points each
	res, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 600 || res.Errors.Total != 0 || res.Latency == nil || res.Latency.Samples != 600 {
		t.Fatalf("ok %d errors %+v latency %+v, want 600 ok, 600 latencies", res.OK, res.Errors, res.Latency)
	}
	for i, st := range stores {
		// Connections i and i+3 reach server i: 2 of 6 connections.
		if series, points := st.Stats(); series != 20 || points != 200 {
			t.Errorf("server %d: %d series, %d points, want 20 and 200", i, series, points)
		}
	}
}

func TestRunGetAllMoreConnectionsThanKeys(t *testing.T) {
	cfg := testConfig(startServer(t, store.NewMemory()))
	cfg.Workload, cfg.Keys, cfg.Connections, cfg.Requests = WorkloadGetAll, 1, 3, 6
	res, err := run(t, cfg)
	if err != nil || res.OK != 6 {
		t.Errorf("getall with 3 connections and 1 key: %v, ok %d", err, res.OK)
	}
}

func TestRunMixed(t *testing.T) {
	st := store.NewMemory()
	cfg := testConfig(startServer(t, st))
	cfg.Workload, cfg.GetRatio = WorkloadMixed, 0.5
	res, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != cfg.Requests || res.Errors.Total != 0 {
		t.Fatalf("ok %d errors %+v, want %d ok", res.OK, res.Errors, cfg.Requests)
	}
	puts := countStored(t, st)
	if puts < cfg.Requests/4 || puts > 3*cfg.Requests/4 {
		t.Errorf("%d of %d requests were puts, want about half", puts, cfg.Requests)
	}
}

func TestRunCountsWrongAnswers(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		check func(Errors) bool
	}{
		{"error replies", "error\nwrong command\n\n", func(e Errors) bool { return e.ErrorReplies == e.Total }},
		{"garbage", "nope\n\n", func(e Errors) bool { return e.BadReplies == e.Total }},
		{"points for a put", "ok\nk 1.0 2\n\n", func(e Errors) bool { return e.BadReplies == e.Total }},
		{"bare empty line", "\n", func(e Errors) bool { return e.BadReplies == e.Total }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startLineServer(t, func([]byte) []byte { return []byte(tc.reply) })
			cfg := testConfig(addr)
			cfg.Requests = 200
			res, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != 0 || res.Errors.Total != 200 || !tc.check(res.Errors) {
				t.Errorf("ok %d errors %+v, want all 200 counted as %s", res.OK, res.Errors, tc.name)
			}
		})
	}
}

func TestRunCountsLostAnswers(t *testing.T) {
	var seen atomic.Int64
	// Answers the first 10 lines of each connection, then hangs up.
	addr := startLineServer(t, func([]byte) []byte {
		if seen.Add(1)%10 == 0 {
			return nil
		}
		return []byte("ok\n\n")
	})
	cfg := testConfig(addr)
	cfg.Connections, cfg.Pipeline, cfg.Requests, cfg.Timeout = 1, 1, 20, 200*time.Millisecond
	res, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors.Lost != 2 || res.OK != 18 || res.Errors.First == "" {
		t.Errorf("ok %d errors %+v: want 18 ok, 2 lost with a first error", res.OK, res.Errors)
	}
}

func TestRunRefusesRemote(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:8888", "192.168.1.1:8888", "8.8.8.8:53"} {
		cfg := testConfig(addr)
		_, err := run(t, cfg)
		if !errors.Is(err, ErrRemote) {
			t.Errorf("Run against %s: %v, want ErrRemote", addr, err)
		}
		cfg.Addr = "127.0.0.1:1"
		cfg.Workload, cfg.Verify = WorkloadGraphite, ProtocolCounter{Addr: addr}
		if _, err := run(t, cfg); !errors.Is(err, ErrRemote) {
			t.Errorf("Run verifying on %s: %v, want ErrRemote", addr, err)
		}
	}
}

func TestRunNoServer(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	res, err := run(t, testConfig(addr))
	if err == nil || res.Errors.Lost == 0 {
		t.Errorf("Run with nothing listening: %v, %+v; want an error and lost requests", err, res.Errors)
	}
}

func TestRunDurationBound(t *testing.T) {
	cfg := testConfig(startServer(t, store.NewMemory()))
	cfg.Requests, cfg.Duration = 0, 100*time.Millisecond
	res, err := run(t, cfg) // must end by itself, long before the test timeout
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Errors.Total != 0 {
		t.Errorf("ok %d errors %+v", res.OK, res.Errors)
	}
}

func TestRunCancel(t *testing.T) {
	got := make(chan struct{}, 1)
	addr := startLineServer(t, func([]byte) []byte { // reads, never answers
		select {
		case got <- struct{}{}:
		default:
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-got
		cancel()
	}()
	cfg := testConfig(addr)
	cfg.Timeout = time.Hour // only the cancellation can end it
	res, err := Run(ctx, cfg)
	if err == nil || res.Errors.Lost == 0 || res.OK != 0 {
		t.Errorf("cancelled run: %v, ok %d, errors %+v; want lost requests", err, res.OK, res.Errors)
	}
}

func TestRunGraphite(t *testing.T) {
	st := store.NewMemory()
	protoAddr := startServer(t, st)
	cfg := testConfig(startLineServer(t, graphiteInto(t, st)))
	cfg.Workload, cfg.Requests = WorkloadGraphite, 5000
	cfg.Verify = ProtocolCounter{Addr: protoAddr}
	res, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := res.Graphite
	if g == nil || g.Sent != 5000 || g.Stored != 5000 || res.Errors.Total != 0 || res.OpsPerSecond <= 0 {
		t.Fatalf("graphite %+v, errors %+v, rate %v", g, res.Errors, res.OpsPerSecond)
	}
	if res.Latency != nil {
		t.Errorf("a graphite run has latencies %+v; nothing is answered", res.Latency)
	}
	if n := countStored(t, st); n != 5000 {
		t.Errorf("stored %d", n)
	}
}

// fixedCounter counts the same every time.
type fixedCounter int64

func (f fixedCounter) Count(context.Context) (int64, error) { return int64(f), nil }

func TestRunGraphiteShort(t *testing.T) {
	cfg := testConfig(startLineServer(t, func([]byte) []byte { return nil }))
	cfg.Workload, cfg.Requests = WorkloadGraphite, 100
	cfg.Verify, cfg.VerifyTimeout = fixedCounter(7), 100*time.Millisecond
	res, err := run(t, cfg)
	if !errors.Is(err, errShort) {
		t.Fatalf("Run: %v, want errShort", err)
	}
	if res.Errors.Missing != 100 || res.Graphite.Stored != 0 {
		t.Errorf("errors %+v graphite %+v: want 100 missing", res.Errors, res.Graphite)
	}
}

func TestMetricCounter(t *testing.T) {
	const page = `# HELP vm_rows_inserted_total rows
# TYPE vm_rows_inserted_total counter
vm_rows_inserted_total{type="graphite"} 1500
vm_rows_inserted_total{type="influx"} 25
vm_rows_inserted_total_other 7
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(page))
	}))
	defer srv.Close()
	tests := []struct {
		metric  string
		want    int64
		wantErr bool
	}{
		{`vm_rows_inserted_total{type="graphite"}`, 1500, false},
		{`vm_rows_inserted_total`, 1525, false},
		{`vm_rows_inserted_total{type="opentsdb"}`, 0, true},
		{`absent_metric`, 0, true},
	}
	for _, tc := range tests {
		got, err := MetricCounter{URL: srv.URL, Metric: tc.metric}.Count(t.Context())
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Count(%s) = %d, %v; want %d, error %v", tc.metric, got, err, tc.want, tc.wantErr)
		}
	}
	targets := []struct{ url, want string }{
		{srv.URL, srv.Listener.Addr().String()},
		{"http://localhost/metrics", "localhost:80"},
		{"https://[::1]/metrics", "[::1]:443"},
		{"no url", "no url"},
	}
	for _, tc := range targets {
		if got := (MetricCounter{URL: tc.url}).Target(); got != tc.want {
			t.Errorf("Target of %q = %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestProgress(t *testing.T) {
	cfg := testConfig(startServer(t, store.NewMemory()))
	var snaps []Snapshot
	cfg.Progress, cfg.ProgressInterval = func(s Snapshot) { snaps = append(snaps, s) }, time.Millisecond
	if _, err := run(t, cfg); err != nil {
		t.Fatal(err)
	}
	last := snaps[len(snaps)-1]
	if !last.Final || last.Done != cfg.Requests || last.Errors != 0 {
		t.Errorf("last snapshot %+v, want final with %d done", last, cfg.Requests)
	}
	var buf bytes.Buffer
	line := ProgressLine(&buf)
	line(Snapshot{Elapsed: time.Second, Done: 1500})
	line(Snapshot{Elapsed: 2 * time.Second, Done: 4000, Errors: 3, Final: true})
	want := "\r    1.0s          1500 requests        1,500/s  0 errors   " +
		"\r    2.0s          4000 requests        2,000/s  3 errors\n"
	if buf.String() != want {
		t.Errorf("progress line\n got %q\nwant %q", buf.String(), want)
	}
}

func TestResultJSON(t *testing.T) {
	cfg := testConfig(startServer(t, store.NewMemory()))
	res, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	numbers := []string{"connections", "pipeline", "keys", "seed", "start", "requests", "ok",
		"elapsed_seconds", "ops_per_second", "points_read", "bytes_read"}
	for _, k := range numbers {
		if _, ok := doc[k].(float64); !ok {
			t.Errorf("%s: %v (%T), want a number", k, doc[k], doc[k])
		}
	}
	for _, k := range []string{"workload", "addr", "order", "values"} {
		if _, ok := doc[k].(string); !ok {
			t.Errorf("%s: %v, want a string", k, doc[k])
		}
	}
	lat, _ := doc["latency_us"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p99_9", "max", "mean"} {
		if _, ok := lat[k].(float64); !ok {
			t.Errorf("latency_us.%s: %v, want a number", k, lat[k])
		}
	}
	errs, _ := doc["errors"].(map[string]any)
	for _, k := range []string{"total", "error_replies", "bad_replies", "lost", "missing"} {
		if _, ok := errs[k].(float64); !ok {
			t.Errorf("errors.%s: %v, want a number", k, errs[k])
		}
	}
	if _, ok := doc["graphite"]; ok {
		t.Error("a put run has a graphite section")
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil || !strings.Contains(text.String(), "latency    p50 ") {
		t.Errorf("text report %q, %v", text.String(), err)
	}
}
