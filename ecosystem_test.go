package metricsd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"metricsd/client"
)

// ecoServer is a Server on three ephemeral loopback ports: the protocol,
// the HTTP API and Graphite plaintext.
type ecoServer struct {
	srv                   *Server
	proto, http, graphite string
	served                chan error
}

func startEcoServer(t *testing.T) *ecoServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GraphiteAddr = "127.0.0.1:0"
	return startEcoServerWith(t, cfg)
}

// startEcoServerWith serves cfg, whose side addresses must be set, until
// the test ends.
func startEcoServerWith(t *testing.T, cfg Config) *ecoServer {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	// With a data directory the HTTP API comes up before recovery, so that
	// probes can watch it; otherwise nothing is bound before Serve.
	if early := cfg.DataDir != ""; (srv.HTTPAddr() != nil) != early || srv.GraphiteAddr() != nil {
		t.Fatalf("side addresses before Serve: %v, %v", srv.HTTPAddr(), srv.GraphiteAddr())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &ecoServer{srv: srv, proto: ln.Addr().String(), served: make(chan error, 1)}
	go func() { e.served <- srv.Serve(ln) }()
	deadline := time.Now().Add(testTimeout)
	for srv.HTTPAddr() == nil || srv.GraphiteAddr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("side listeners never started")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	e.http, e.graphite = "http://"+srv.HTTPAddr().String(), srv.GraphiteAddr().String()
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *ecoServer) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-e.served; err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func (e *ecoServer) httpGet(t *testing.T, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.http+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape parses /metrics with Prometheus's text parser.
func (e *ecoServer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := e.httpGet(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// sample returns the value of family's sample whose labels include
// labels (counter or gauge), or 0.
func sample(families map[string]*dto.MetricFamily, family string, labels ...string) float64 {
next:
	for _, m := range families[family].GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

// sendGraphite writes lines to the Graphite port on one connection and
// closes it.
func (e *ecoServer) sendGraphite(t *testing.T, lines string) {
	t.Helper()
	g, err := net.DialTimeout("tcp", e.graphite, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := io.WriteString(g, lines); err != nil {
		t.Fatal(err)
	}
}

// waitForGet polls "get *" until done accepts its answer: Graphite has no
// acknowledgement, so its lines are known stored only once readable.
func waitForGet(t *testing.T, ctx context.Context, c *client.Client, done func(map[string][]client.Point) bool) map[string][]client.Point {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		all, err := c.Get(ctx, "*")
		if err != nil {
			t.Fatalf("get *: %v", err)
		}
		if done(all) {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("get * = %v; graphite lines never arrived", all)
		}
		time.Sleep(2 * time.Millisecond) // poll interval
	}
}

// TestGraphiteAndProtocolShareTheStore feeds Telegraf- and collectd-style
// Graphite lines and a course put, and reads them back through the
// protocol's get, the Graphite render and find API, and /metrics.
func TestGraphiteAndProtocolShareTheStore(t *testing.T) {
	e := startEcoServer(t)
	before := e.scrape(t)

	e.sendGraphite(t, "collectd.web1.cpu-0.cpu-idle 98.600000 1500000000\n"+
		"telegraf.web1.mem.used 1.5e9 1500000000\r\n"+
		"not a graphite line\n"+
		"telegraf.web1.mem.used 1.6e9 -1\n")

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := client.Dial(ctx, e.proto)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Put(ctx, "collectd.web1.cpu-0.cpu-idle", 97, 1500000060); err != nil {
		t.Fatalf("put: %v", err)
	}

	all := waitForGet(t, ctx, c, func(all map[string][]client.Point) bool {
		return len(all["collectd.web1.cpu-0.cpu-idle"]) == 2 && len(all["telegraf.web1.mem.used"]) == 2
	})
	if got := fmt.Sprint(all["collectd.web1.cpu-0.cpu-idle"]); got != "[{1500000000 98.6} {1500000060 97}]" {
		t.Errorf("get of the collectd key = %s", got)
	}
	if now := all["telegraf.web1.mem.used"][1].Timestamp; now < time.Now().Unix()-60 {
		t.Errorf("a -1 timestamp was stored as %d, want about now", now)
	}

	code, body := e.httpGet(t, "/render?target=*.web1.cpu-0.cpu-idle&from=1499999000&until=1500001000&format=json")
	want := `[{"target": "collectd.web1.cpu-0.cpu-idle", "tags": {"name": "collectd.web1.cpu-0.cpu-idle"}, ` +
		`"datapoints": [[98.6, 1500000000], [97.0, 1500000060]]}]`
	if code != 200 || body != want {
		t.Errorf("render = %d\n got %s\nwant %s", code, body, want)
	}
	code, body = e.httpGet(t, "/metrics/find?query=*")
	var nodes []struct {
		Text       string `json:"text"`
		Expandable int    `json:"expandable"`
	}
	if err := json.Unmarshal([]byte(body), &nodes); code != 200 || err != nil || len(nodes) != 2 ||
		nodes[0].Text != "collectd" || nodes[1].Text != "telegraf" || nodes[0].Expandable != 1 {
		t.Errorf("find * = %d %s", code, body)
	}
	if code, body := e.httpGet(t, "/readyz"); code != 200 {
		t.Errorf("readyz = %d %q", code, body)
	}

	after := e.scrape(t)
	moved := func(family string, labels ...string) float64 {
		return sample(after, family, labels...) - sample(before, family, labels...)
	}
	for _, m := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"metricsd_graphite_points_stored_total", []string{"transport", "tcp"}, 3},
		{"metricsd_graphite_lines_dropped_total", []string{"reason", "format", "transport", "tcp"}, 1},
		{"metricsd_requests_total", []string{"command", "put", "result", "ok"}, 1},
		{"metricsd_http_requests_total", []string{"handler", "render", "code", "200"}, 1},
		{"metricsd_series", nil, 2},
		{"metricsd_points", nil, 4},
	} {
		if got := moved(m.family, m.labels...); got != m.want {
			t.Errorf("%s%v moved by %v, want %v", m.family, m.labels, got, m.want)
		}
	}
	for _, family := range []string{"go_goroutines", "process_start_time_seconds", "metricsd_request_duration_seconds"} {
		if after[family] == nil {
			t.Errorf("/metrics lacks %s", family)
		}
	}
}

func TestShutdownStopsEveryListener(t *testing.T) {
	e := startEcoServer(t)
	httpAddr, graphiteAddr := e.srv.HTTPAddr().String(), e.srv.GraphiteAddr().String()
	e.stop(t)
	for _, addr := range []string{e.proto, httpAddr, graphiteAddr} {
		if c, err := net.DialTimeout("tcp", addr, testTimeout); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Shutdown", addr)
		}
	}
	if err := e.srv.readiness(); !errors.Is(err, errShuttingDown) {
		t.Errorf("readiness after Shutdown = %v, want errShuttingDown", err)
	}
	e.served <- nil // the cleanup's stop reads it again
}

func TestSideListenersOffByDefault(t *testing.T) {
	srv, err := NewServer(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, err := client.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Get(context.Background(), "*"); err != nil { // Serve has started
		t.Fatal(err)
	}
	if srv.HTTPAddr() != nil || srv.GraphiteAddr() != nil {
		t.Errorf("side listeners on by default: %v, %v", srv.HTTPAddr(), srv.GraphiteAddr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestSideListenerBindFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.GraphiteAddr = taken.Addr().String()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err == nil || !strings.Contains(err.Error(), "Graphite") {
		t.Errorf("Serve with the Graphite port taken = %v, want a listen error naming Graphite", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout); err == nil {
		c.Close()
		t.Error("the protocol listener stayed open after Serve failed")
	}
}

func TestPprofNeedsHTTP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Pprof = true
	if _, err := NewServer(cfg); err == nil {
		t.Error("NewServer with Pprof and no HTTPAddr succeeded")
	}
}

// TestGraphiteLinesAreDurable feeds Graphite lines to a server with a data
// directory, restarts it, and finds them again through the protocol and
// the Graphite API (which, on the durable engine, lists keys by walking
// Storage.All).
func TestGraphiteLinesAreDurable(t *testing.T) {
	dir := t.TempDir()
	start := func() *ecoServer {
		cfg := DefaultConfig()
		cfg.DataDir = dir
		cfg.HTTPAddr, cfg.GraphiteAddr = "127.0.0.1:0", "127.0.0.1:0"
		return startEcoServerWith(t, cfg)
	}
	e := start()
	e.sendGraphite(t, "durable.a 1 100\ndurable.b 2 200\n")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := client.Dial(ctx, e.proto)
	if err != nil {
		t.Fatal(err)
	}
	waitForGet(t, ctx, c, func(all map[string][]client.Point) bool { return len(all) == 2 })
	c.Close()
	if families := e.scrape(t); families["metricsd_wal_written_bytes_total"] == nil {
		t.Error("/metrics lacks the durable engine's metrics")
	}
	e.stop(t)
	e.served <- nil // the cleanup's stop reads it again

	e = start()
	code, body := e.httpGet(t, "/metrics/find?query=durable.*")
	if code != 200 || !strings.Contains(body, `"id": "durable.a"`) || !strings.Contains(body, `"id": "durable.b"`) {
		t.Errorf("find after restart = %d %s", code, body)
	}
	code, body = e.httpGet(t, "/render?target=durable.b&from=0&until=1000")
	if want := `[{"target": "durable.b", "tags": {"name": "durable.b"}, "datapoints": [[2.0, 200]]}]`; code != 200 || body != want {
		t.Errorf("render after restart = %d %s", code, body)
	}
}
