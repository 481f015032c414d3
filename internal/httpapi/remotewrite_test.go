package httpapi

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"metricsd/internal/store"
)

func (a *testAPI) postWrite(t *testing.T, body []byte, contentType string) int {
	t.Helper()
	req, err := http.NewRequest("POST", a.url+"/api/v1/write", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (a *testAPI) points(t *testing.T, key string) string {
	t.Helper()
	var out []string
	err := a.store.Get([]byte(key), func(_ []byte, pts []store.Point) error {
		for _, p := range pts {
			out = append(out, fmt.Sprintf("%v@%d", p.Value, p.Timestamp))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out)
}

func (a *testAPI) keys(t *testing.T) []string {
	t.Helper()
	var keys []string
	if err := a.store.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// TestRemoteWriteRecordedBody replays the request Prometheus 2.42 sent in
// TestRemoteWriteLivePrometheus (a scrape of metricsd: up, scrape_* and
// metricsd's self-metrics, 13 series of one sample).
func TestRemoteWriteRecordedBody(t *testing.T) {
	body, err := os.ReadFile(recordedBody)
	if err != nil {
		t.Fatal(err)
	}
	a := startAPI(t, Config{})
	if code := a.postWrite(t, body, "application/x-protobuf"); code != http.StatusNoContent {
		t.Fatalf("POST recorded body = %d, want 204", code)
	}
	keys := a.keys(t)
	if len(keys) != 13 {
		t.Errorf("%d series stored, want 13: %q", len(keys), keys)
	}
	for _, k := range keys {
		if !bytes.HasSuffix([]byte(k), []byte(";instance=metricsd;job=metricsd")) && !bytes.Contains([]byte(k), []byte(";instance=metricsd;job=metricsd;")) {
			t.Errorf("series %q lacks the scrape's labels as tags", k)
		}
	}
	// The recorded scrape ran at 1796156011244 ms: stored at 1796156011 s.
	for key, want := range map[string]string{
		"up;instance=metricsd;job=metricsd":                                                  "[1@1796156011]",
		"scrape_samples_scraped;instance=metricsd;job=metricsd":                              "[8@1796156011]",
		"promhttp_metric_handler_errors_total;cause=encoding;instance=metricsd;job=metricsd": "[0@1796156011]",
	} {
		if got := a.points(t, key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if got := metricFamilyCounter(t, a, "metricsd_remote_write_samples_stored_total"); got != 13 {
		t.Errorf("samples stored = %v, want 13", got)
	}
}

// metricFamilyCounter returns the value of an unlabelled counter of the
// API's registry.
func metricFamilyCounter(t *testing.T, a *testAPI, name string) float64 {
	t.Helper()
	families, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func rwBody(t testing.TB, series ...prompb.TimeSeries) []byte {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func rwSeries(samples []prompb.Sample, kv ...string) prompb.TimeSeries {
	ts := prompb.TimeSeries{Samples: samples}
	for i := 0; i < len(kv); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ts
}

func TestRemoteWriteMapping(t *testing.T) {
	a := startAPI(t, Config{})
	stale := math.Float64frombits(0x7ff0000000000002) // Prometheus' staleness marker
	body := rwBody(t,
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1500000000100}, {Value: 2, Timestamp: 1500000000900}, {Value: 3, Timestamp: 1500000001000}},
			"__name__", "http_requests_total", "job", "api", "code", "200"),
		rwSeries([]prompb.Sample{{Value: math.NaN(), Timestamp: 1500000000000}, {Value: stale, Timestamp: 1500000001000}, {Value: 7, Timestamp: 1500000002000}},
			"__name__", "g", "name", "web", "path", "/a b;c"),
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1}}, "job", "no name"),
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}}, "__name__", "m", "a=b", "x"),
		rwSeries([]prompb.Sample{{Value: -1, Timestamp: -1500}}, "__name__", "before_1970"),
	)
	if code := a.postWrite(t, body, "application/x-protobuf"); code != http.StatusNoContent {
		t.Fatalf("POST = %d, want 204", code)
	}
	for key, want := range map[string]string{
		// milliseconds to seconds, rounding down; the last write of a second wins
		"http_requests_total;code=200;job=api": "[2@1500000000 3@1500000001]",
		// NaN and staleness markers dropped; "name" renamed; value sanitized
		"g;exported_name=web;path=/a_b_c": "[7@1500000002]",
		"before_1970":                     "[-1@-2]",
	} {
		if got := a.points(t, key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if got := len(a.keys(t)); got != 3 {
		t.Errorf("%d series, want 3: %q", got, a.keys(t))
	}
	families, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]float64{}
	for _, f := range families {
		if f.GetName() == "metricsd_remote_write_samples_dropped_total" {
			for _, m := range f.GetMetric() {
				dropped[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if want := map[string]float64{"no_name": 1, "bad_label": 2, "bad_tags": 0, "nan_value": 2, "store": 0}; fmt.Sprint(dropped) != fmt.Sprint(want) {
		t.Errorf("dropped = %v, want %v", dropped, want)
	}
}

func TestRemoteWriteRefusals(t *testing.T) {
	a := startAPI(t, Config{})
	good := rwBody(t, rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1000}}, "__name__", "m"))
	tests := []struct {
		name        string
		body        []byte
		contentType string
		want        int
	}{
		{"not snappy", []byte("plain text"), "application/x-protobuf", 400},
		{"not protobuf", snappy.Encode(nil, []byte{0xff, 0xff, 0xff}), "application/x-protobuf", 400},
		{"remote write 2.0", good, "application/x-protobuf;proto=io.prometheus.write.v2.Request", 415},
		{"too large", make([]byte, maxRemoteWriteBody+1), "application/x-protobuf", 413},
		{"too large decompressed", []byte{0x80, 0x80, 0x80, 0x20, 0x00}, "application/x-protobuf", 413},
		{"good", good, "application/x-protobuf", 204},
	}
	for _, tt := range tests {
		if got := a.postWrite(t, tt.body, tt.contentType); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	// A store limit is a 400 (retrying cannot help), with the limit's text.
	lim := startAPI(t, Config{Storage: store.NewMemoryWith(store.Limits{MaxSeries: 1})})
	two := rwBody(t,
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1000}}, "__name__", "a"),
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1000}}, "__name__", "b"))
	if got := lim.postWrite(t, two, "application/x-protobuf"); got != 400 {
		t.Errorf("past the series limit: status %d, want 400", got)
	}
}

// countingEngine records, for the remote_write test below, how many puts
// were submitted before the first ticket was waited on.
type countingEngine struct {
	*store.Memory
	mu               sync.Mutex
	submitted        int
	submittedAtFirst int // submissions when the first Wait came; -1 before
}

func (c *countingEngine) Submit(key []byte, p store.Point) (store.Ticket, error) {
	if err := c.Memory.Put(key, p); err != nil {
		return store.Ticket{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.submitted++
	return store.NewTicket(c, c.submitted), nil
}

// Wait implements store.Waiter.
func (c *countingEngine) Wait(int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.submittedAtFirst < 0 {
		c.submittedAtFirst = c.submitted
	}
	return nil
}

// TestRemoteWriteSubmitsBeforeWaiting checks that a request's samples are
// all submitted before the first is waited on, so that under --fsync
// always they share the log's fsyncs instead of paying one each.
func TestRemoteWriteSubmitsBeforeWaiting(t *testing.T) {
	eng := &countingEngine{Memory: store.NewMemory(), submittedAtFirst: -1}
	a := startAPI(t, Config{Storage: eng})
	body := rwBody(t,
		rwSeries([]prompb.Sample{{Value: 1, Timestamp: 1000}, {Value: 2, Timestamp: 2000}}, "__name__", "a"),
		rwSeries([]prompb.Sample{{Value: 3, Timestamp: 1000}}, "__name__", "b"))
	if got := a.postWrite(t, body, "application/x-protobuf"); got != 204 {
		t.Fatalf("status %d, want 204", got)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if eng.submitted != 3 || eng.submittedAtFirst != 3 {
		t.Errorf("submitted %d, %d of them before the first wait; want 3 before it", eng.submitted, eng.submittedAtFirst)
	}
}
