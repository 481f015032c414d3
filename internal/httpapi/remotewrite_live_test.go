package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/remotewrite"
	"metricsd/internal/store"
)

// recordedBody is the remote_write request the live test records (with
// METRICSD_RECORD_REMOTE_WRITE=1) and TestRemoteWriteRecordedBody replays,
// so that CI covers Prometheus' own bytes without Prometheus.
const recordedBody = "testdata/remote_write/prometheus-2.42.snappy"

// liveSeries is the series the live test reads back: Prometheus' "up" for
// its scrape of metricsd, whose instance label the config pins.
const liveSeries = "up;instance=metricsd;job=metricsd"

// liveSelfMetric is one of metricsd's self-metrics as the live test's
// Prometheus scrapes and writes it back.
const liveSelfMetric = "metricsd_remote_write_samples_stored_total;instance=metricsd;job=metricsd"

// TestRemoteWriteLivePrometheus runs Debian's prometheus (2.42) with a
// scrape of metricsd's own /metrics and a remote_write to metricsd, both
// on loopback, polls until the samples land and reads one back through
// /render. Without prometheus it skips, except under CI=true, where it
// fails: .ci/run installs it.
func TestRemoteWriteLivePrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus is not installed; .ci/run installs Debian's package")
		}
		t.Skip("prometheus not installed (apt-get install prometheus): live remote_write test skipped")
	}
	st := store.NewMemory()
	reg := prometheus.NewRegistry()
	srv, err := New(Config{Storage: st, Gatherer: reg, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Tee remote_write bodies: the largest one from the scrape of metricsd
	// is kept as the recorded request.
	var mu sync.Mutex
	var recorded []byte
	inner := srv.http.Handler
	srv.http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/write" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read", http.StatusBadRequest)
				return
			}
			mu.Lock()
			if len(body) > len(recorded) && bytes.Contains(mustDecodeRaw(body), []byte("metricsd")) {
				recorded = body
			}
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		inner.ServeHTTP(w, r)
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	addr := ln.Addr().String()

	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: metricsd
    static_configs: [{targets: ['%[1]s']}]
    relabel_configs: [{target_label: instance, replacement: metricsd}]
remote_write:
  - url: http://%[1]s/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, addr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer cancel()
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Logf("prometheus ended: %v", err)
		}
	})

	// Poll until a scrape of metricsd has come back through remote_write:
	// "up" and one of metricsd's own self-metrics.
	points := func(key string) []store.Point {
		var pts []store.Point
		if err := st.Get([]byte(key), func(_ []byte, p []store.Point) error { pts = append(pts, p...); return nil }); err != nil {
			t.Fatal(err)
		}
		return pts
	}
	deadline := time.Now().Add(90 * time.Second)
	var pts []store.Point
	// Three scrapes at least: /render lays a series on the step of its
	// points' spacing (one second here), which one point does not give.
	for len(pts) < 3 || len(points(liveSelfMetric)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no remote_write samples of %s and %s after 90 s; prometheus said:\n%s", liveSeries, liveSelfMetric, logs.String())
		}
		time.Sleep(100 * time.Millisecond) // poll interval
		pts = points(liveSeries)
	}
	if pts[0].Value != 1 {
		t.Errorf("%s = %v, want 1", liveSeries, pts[0].Value)
	}
	// Read it back through /render by its name, over the scrapes' range:
	// its step grid (the default rule, the spacing of the scrapes) has a
	// slot for each of them.
	resp, err := http.Get(fmt.Sprintf("http://%s/render?format=json&from=%d&until=%d&target=%s",
		addr, pts[0].Timestamp-1, pts[len(pts)-1].Timestamp, url.QueryEscape(liveSeries)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"target": "`+liveSeries+`"`) || !strings.Contains(string(body), `[1.0, `) {
		t.Errorf("render %s = %d %s", liveSeries, resp.StatusCode, body)
	}
	if os.Getenv("METRICSD_RECORD_REMOTE_WRITE") == "1" {
		mu.Lock()
		defer mu.Unlock()
		if err := os.WriteFile(recordedBody, recorded, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d bytes to %s", len(recorded), recordedBody)
	}
}

// mustDecodeRaw returns the decompressed protobuf of a body, or nil.
func mustDecodeRaw(body []byte) []byte {
	req, err := remotewrite.Decode(body)
	if err != nil {
		return nil
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil
	}
	return raw
}
