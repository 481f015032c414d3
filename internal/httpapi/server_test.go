package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every request of these tests.
const testTimeout = 10 * time.Second

// testNow is the API's clock in these tests: 2017-07-14 02:40:00 UTC.
var testNow = time.Unix(1500000000, 0)

type testAPI struct {
	url   string
	store *store.Memory
	reg   *prometheus.Registry
}

// startAPI serves cfg (with a fresh store, registry and fixed clock unless
// cfg has them) on an ephemeral loopback port until the test ends.
func startAPI(t *testing.T, cfg Config) *testAPI {
	t.Helper()
	st := store.NewMemory()
	reg := prometheus.NewRegistry()
	if cfg.Storage == nil {
		cfg.Storage = st
	}
	cfg.Gatherer, cfg.Registerer = reg, reg
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return &testAPI{url: "http://" + ln.Addr().String(), store: st, reg: reg}
}

func (a *testAPI) put(t *testing.T, key string, v float64, ts int64) {
	t.Helper()
	if err := a.store.Put([]byte(key), store.Point{Timestamp: ts, Value: v}); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns the status, Content-Type and body.
func (a *testAPI) do(t *testing.T, method, path string, form url.Values) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func (a *testAPI) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	return a.do(t, http.MethodGet, path, nil)
}

// grafanaFindResult is what Grafana's Graphite data source reads from
// /metrics/find (text, and expandable as a truthy number), with the other
// fields of graphite-web's treejson.
type grafanaFindResult struct {
	Text          string `json:"text"`
	ID            string `json:"id"`
	Expandable    int    `json:"expandable"`
	Leaf          int    `json:"leaf"`
	AllowChildren int    `json:"allowChildren"`
}

// grafanaSeries is what Grafana's Graphite data source reads from /render.
type grafanaSeries struct {
	Target     string            `json:"target"`
	Tags       map[string]string `json:"tags"`
	Datapoints [][2]*float64     `json:"datapoints"`
}

func TestFindAsGrafanaBrowses(t *testing.T) {
	a := startAPI(t, Config{})
	for _, k := range []string{"palm.cpu", "palm.mem.used", "palm.mem.free", "oak.cpu", "test_key"} {
		a.put(t, k, 1, 1500000000)
	}
	// Grafana's tree browser: GET with the query (and the panel's range);
	// a template variable query may POST the same form.
	code, ctype, body := a.get(t, "/metrics/find?query=palm.*&from=-6h&until=now")
	if code != 200 || ctype != "application/json" {
		t.Fatalf("find: %d %s %s", code, ctype, body)
	}
	var got []grafanaFindResult
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("find answer is not Grafana's shape: %v: %s", err, body)
	}
	want := []grafanaFindResult{
		{Text: "mem", ID: "palm.mem", Expandable: 1, AllowChildren: 1},
		{Text: "cpu", ID: "palm.cpu", Leaf: 1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("find palm.* = %+v, want %+v", got, want)
	}
	code, _, body = a.do(t, http.MethodPost, "/metrics/find/", url.Values{"query": {"*"}})
	if code != 200 || !strings.Contains(body, `"text": "test_key"`) || !strings.Contains(body, `"text": "oak"`) {
		t.Errorf("POST find *: %d %s", code, body)
	}
}

func TestRenderAsGrafanaQueries(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 10 {
		a.put(t, "palm.cpu", float64(i), 1500000000-3600+int64(i)*60)
		a.put(t, "oak.cpu", float64(10*i), 1500000000-3600+int64(i)*60)
	}
	a.put(t, "palm.cpu", 99, 1500000000-7*86400) // outside the range
	// Grafana POSTs the form: targets, from/until as it translates them,
	// format=json, maxDataPoints.
	code, ctype, body := a.do(t, http.MethodPost, "/render", url.Values{
		"target": {"palm.cpu", "*.cpu"}, "from": {"-1h"}, "until": {"now"},
		"format": {"json"}, "maxDataPoints": {"5"}, "cacheTimeout": {"60"},
	})
	if code != 200 || ctype != "application/json" {
		t.Fatalf("render: %d %s %s", code, ctype, body)
	}
	var series []grafanaSeries
	if err := json.Unmarshal([]byte(body), &series); err != nil {
		t.Fatalf("render answer is not Grafana's shape: %v: %s", err, body)
	}
	if len(series) != 3 || series[0].Target != "palm.cpu" || series[1].Target != "oak.cpu" || series[2].Target != "palm.cpu" {
		t.Fatalf("render targets = %s", body)
	}
	for _, s := range series {
		if len(s.Datapoints) == 0 || len(s.Datapoints) > 5 || s.Tags["name"] != s.Target {
			t.Errorf("series %s: %d datapoints (want 1..5), tags %v", s.Target, len(s.Datapoints), s.Tags)
		}
		for _, dp := range s.Datapoints {
			if dp[1] == nil || *dp[1] <= 1500000000-3600-60 || *dp[1] > 1500000000 {
				t.Errorf("series %s: datapoint %v out of the range", s.Target, dp)
			}
		}
	}
	// Raw points without maxDataPoints, with epoch seconds as Grafana sends
	// absolute ranges.
	_, _, body = a.get(t, "/render?target=oak.cpu&from=1499996400&until=1499996600&format=json")
	want := `[{"target": "oak.cpu", "tags": {"name": "oak.cpu"}, "datapoints": [[10.0, 1499996460], [20.0, 1499996520], [30.0, 1499996580]]}]`
	if body != want {
		t.Errorf("render oak.cpu:\n got %s\nwant %s", body, want)
	}
}

// TestGrafanaSaveAndTest is the request Grafana's "Save & test" button
// sends to a Graphite data source.
func TestGrafanaSaveAndTest(t *testing.T) {
	a := startAPI(t, Config{})
	code, _, body := a.do(t, http.MethodPost, "/render", url.Values{
		"target": {"constantLine(100)"}, "from": {"-1h"}, "until": {"now"}, "format": {"json"}, "maxDataPoints": {"300"},
	})
	// graphite-web names it str(float(100)): its parameter validation makes
	// a float of the number (see the goldens).
	want := `[{"target": "100.0", "tags": {"name": "100.0"}, "datapoints": [[100.0, 1499996400], [100.0, 1499998200], [100.0, 1500000000]]}]`
	if code != 200 || body != want {
		t.Errorf("Save & test: %d\n got %s\nwant %s", code, body, want)
	}
}

func TestRenderCSV(t *testing.T) {
	a := startAPI(t, Config{})
	a.put(t, "palm.cpu", 23.7, 1499999940)
	code, ctype, body := a.get(t, "/render/?target=palm.cpu&format=csv&from=-2min")
	if code != 200 || ctype != "text/csv" || body != "palm.cpu,2017-07-14 02:39:00,23.7\r\npalm.cpu,2017-07-14 02:40:00,\r\n" {
		t.Errorf("csv: %d %s %q", code, ctype, body)
	}
}

func TestIndex(t *testing.T) {
	a := startAPI(t, Config{})
	for _, k := range []string{"b.two", "a.one", "c"} {
		a.put(t, k, 1, 1)
	}
	code, ctype, body := a.get(t, "/metrics/index.json")
	if code != 200 || ctype != "application/json" || body != `["a.one", "b.two", "c"]` {
		t.Errorf("index: %d %s %s", code, ctype, body)
	}
}

// TestMalformedQueries checks that every bad query is a 400 with a message
// saying what is wrong, never a 500.
func TestMalformedQueries(t *testing.T) {
	a := startAPI(t, Config{})
	a.put(t, "palm.cpu", 1, 1)
	tests := []struct {
		path, wantInBody string
	}{
		{"/metrics/find", "missing required parameter 'query'"},
		{"/metrics/find?query=", "'query' is empty"},
		{"/metrics/find?query=palm.{cpu", "unclosed '{'"},
		{"/metrics/find?query=palm.[a", "unclosed '['"},
		{"/metrics/find?query=*&format=completer", "'format'"},
		{"/metrics/find?query=*&wildcards=yes", "wildcards"},
		{"/metrics/find?query=*&from=bogus", "invalid time"},
		{"/render", "missing required parameter 'target'"},
		{"/render?target=", "missing required parameter 'target'"},
		{"/render?target=noSuchFunction(palm.*)", `unknown function "noSuchFunction"`},
		{"/render?target=movingAverage(palm.*)", "movingAverage: argument windowSize: missing"},
		{"/render?target=scale(palm.*,'x')", "scale: argument factor: want a number"},
		{"/render?target=palm.cpu&from=-1m", "unknown unit"},
		{"/render?target=palm.cpu&from=now&until=now", "invalid empty time range"},
		{"/render?target=palm.cpu&format=pickle", "unsupported format"},
		{"/render?target=palm.cpu&maxDataPoints=0", "maxDataPoints"},
		{"/render?target=palm.cpu&maxDataPoints=99999999999999999999", "maxDataPoints"},
		{"/render?target=palm.cpu&now=later", "invalid time"},
		{"/render?target=a%20b", "unexpected"},
		{"/render?target=palm.cpu&target=%7Bx", "missing '}'"},
		{"/render?target=a&from=%zz", "malformed request"},
	}
	for _, tt := range tests {
		code, _, body := a.get(t, tt.path)
		if code != http.StatusBadRequest || !strings.Contains(body, tt.wantInBody) {
			t.Errorf("GET %s = %d %q, want 400 mentioning %q", tt.path, code, body, tt.wantInBody)
		}
	}
	if code, _, _ := a.do(t, http.MethodPut, "/render?target=palm.cpu", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /render = %d, want 405", code)
	}
	if code, _, _ := a.get(t, "/nothing/here"); code != http.StatusNotFound {
		t.Errorf("GET /nothing/here = %d, want 404", code)
	}
	many := url.Values{"target": make([]string, maxTargets+1)}
	for i := range many["target"] {
		many["target"][i] = "palm.cpu"
	}
	if code, _, body := a.do(t, http.MethodPost, "/render", many); code != http.StatusBadRequest || !strings.Contains(body, "too many targets") {
		t.Errorf("render with %d targets = %d %q, want 400", maxTargets+1, code, body)
	}
	big := url.Values{"target": {strings.Repeat("x", maxFormBytes)}}
	if code, _, _ := a.do(t, http.MethodPost, "/render", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge form = %d, want 413", code)
	}
}

// TestMaxDataPointsIgnoresNonDigits follows graphite-web, which ignores a
// maxDataPoints that is not all digits.
func TestMaxDataPointsIgnoresNonDigits(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 5 {
		a.put(t, "s", float64(i), 1499999990+int64(i))
	}
	_, _, body := a.get(t, "/render?target=s&from=-1min&maxDataPoints=-1")
	var series []grafanaSeries
	nonNull := 0
	if err := json.Unmarshal([]byte(body), &series); err == nil && len(series) == 1 {
		for _, dp := range series[0].Datapoints {
			if dp[0] != nil {
				nonNull++
			}
		}
	}
	if nonNull != 5 {
		t.Errorf("render with maxDataPoints=-1: %s", body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var notReady atomic.Pointer[error]
	replaying := errors.New("replaying the write-ahead log")
	notReady.Store(&replaying)
	a := startAPI(t, Config{Ready: func() error {
		if p := notReady.Load(); p != nil {
			return *p
		}
		return nil
	}})
	if code, _, body := a.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, _, body := a.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "replaying") {
		t.Errorf("readyz while replaying = %d %q, want 503 with the reason", code, body)
	}
	notReady.Store(nil)
	if code, _, body := a.get(t, "/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("readyz when ready = %d %q", code, body)
	}
}

// scrape fetches /metrics and parses it with Prometheus's text parser.
func (a *testAPI) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, ctype, body := a.get(t, "/metrics")
	if code != 200 || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("/metrics: %d %s", code, ctype)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return families
}

// counterValue returns the counter of family with the given labels, or 0.
func counterValue(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f := families[family]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
				continue next
			}
		}
		return m.GetCounter().GetValue()
	}
	return 0
}

func TestMetricsCountRequests(t *testing.T) {
	a := startAPI(t, Config{})
	found := map[string]string{"handler": "find", "code": "200", "method": "get"}
	bad := map[string]string{"handler": "render", "code": "400", "method": "get"}
	before := a.scrape(t)
	a.get(t, "/metrics/find?query=*")
	a.get(t, "/metrics/find?query=*")
	a.get(t, "/render")
	after := a.scrape(t)
	if d := counterValue(after, "metricsd_http_requests_total", found) - counterValue(before, "metricsd_http_requests_total", found); d != 2 {
		t.Errorf("find requests counted %v, want 2", d)
	}
	if d := counterValue(after, "metricsd_http_requests_total", bad) - counterValue(before, "metricsd_http_requests_total", bad); d != 1 {
		t.Errorf("bad render requests counted %v, want 1", d)
	}
	if after["metricsd_http_request_duration_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Error("no request duration histogram")
	}
}

func TestPprof(t *testing.T) {
	off := startAPI(t, Config{})
	if code, _, _ := off.get(t, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof off: /debug/pprof/ = %d, want 404", code)
	}
	on := startAPI(t, Config{Pprof: true, Addr: "127.0.0.1:8889"})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if code, _, _ := on.get(t, path); code != 200 {
			t.Errorf("pprof on: %s = %d, want 200", path, code)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without storage succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Storage: store.NewMemory(), Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Storage: store.NewMemory(), Registerer: reg}); err == nil {
		t.Error("second server on one registry: want a registration error")
	}
}

// failingGet is a store whose Get visits its points and then fails, as a
// disk error mid-read would.
type failingGet struct{ *store.Memory }

func (f failingGet) Get(key []byte, fn store.VisitFunc) error {
	if err := f.Memory.Get(key, fn); err != nil {
		return err
	}
	return errors.New("disk read failed")
}

// TestRenderStorageFailure checks that a failed read is a 500 with the
// fixed text, the reason in the log only, however large the render:
// series are evaluated before the first byte is sent, so a failure always
// gets its status.
func TestRenderStorageFailure(t *testing.T) {
	st := failingGet{store.NewMemory()}
	var logged testnet.LogBuffer
	a := startAPI(t, Config{Storage: st, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	st.Put([]byte("small"), store.Point{Timestamp: 1499999999, Value: 1})
	for i := range 20000 {
		st.Put([]byte("large"), store.Point{Timestamp: 1499900000 + int64(i), Value: 1})
	}
	want := serverErrorText + "\n"
	if code, _, body := a.get(t, "/render?target=small"); code != 500 || body != want {
		t.Errorf("failed small render = %d %q, want 500 %q", code, body, want)
	}
	if code, _, body := a.get(t, "/render?target=large&from=-2d"); code != 500 || body != want {
		t.Errorf("failed large render = %d %q, want 500 %q", code, body, want)
	}
	if got := logged.String(); strings.Count(got, "disk read failed") != 2 {
		t.Errorf("log = %q, want the reason of both failures", got)
	}
}
