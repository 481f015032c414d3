package httpapi

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"metricsd/internal/graphite"
	"metricsd/internal/store"
)

// BenchmarkRemoteWrite measures a remote_write request end to end without
// the network: snappy, protobuf, name mapping and the puts, for a request
// of 2,000 samples over 200 series (Prometheus 3's max_samples_per_send),
// each iteration one second later so that every put appends.
func BenchmarkRemoteWrite(b *testing.B) {
	st := store.NewMemory()
	api := &graphiteAPI{st: st, now: time.Now, log: slog.New(slog.DiscardHandler)}
	rw, err := newRemoteWriteAPI(api, nil)
	if err != nil {
		b.Fatal(err)
	}
	const series, perSeries = 200, 10
	bodies := make([][]byte, 64)
	for k := range bodies {
		var req prompb.WriteRequest
		for s := range series {
			ts := prompb.TimeSeries{Labels: []prompb.Label{
				{Name: "__name__", Value: "http_requests_total"},
				{Name: "code", Value: "200"},
				{Name: "instance", Value: fmt.Sprintf("host%03d:9100", s)},
				{Name: "job", Value: "node"},
			}}
			for i := range perSeries {
				ts.Samples = append(ts.Samples, prompb.Sample{Value: float64(i), Timestamp: int64(k*perSeries+i) * 1000})
			}
			req.Timeseries = append(req.Timeseries, ts)
		}
		bodies[k] = rwBody(b, req.Timeseries...)
	}
	b.Run("remote_write", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r := httptest.NewRequest("POST", "/api/v1/write", bytes.NewReader(bodies[i%len(bodies)]))
			w := httptest.NewRecorder()
			rw.write(w, r)
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			i++
		}
		b.ReportMetric(float64(b.N*series*perSeries)/b.Elapsed().Seconds(), "samples/s")
	})
	// The baseline, in the same run: the same samples as Graphite
	// plaintext lines (tagged, already in carbon's order), parsed and put
	// in-process, as the Graphite receiver does per line.
	b.Run("graphite_lines_baseline", func(b *testing.B) {
		st := store.NewMemory()
		batches := make([][][]byte, len(bodies))
		for k := range batches {
			for s := range series {
				for i := range perSeries {
					batches[k] = append(batches[k], fmt.Appendf(nil,
						"http_requests_total;code=200;instance=host%03d:9100;job=node %d %d\n", s, i, k*perSeries+i))
				}
			}
		}
		var l graphite.Line
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			for _, line := range batches[k%len(batches)] {
				if err := graphite.ParseLine(line, &l); err != nil {
					b.Fatal(err)
				}
				if err := st.Put(l.Path, store.Point{Timestamp: l.Timestamp, Value: l.Value}); err != nil {
					b.Fatal(err)
				}
			}
			k++
		}
		b.ReportMetric(float64(b.N*series*perSeries)/b.Elapsed().Seconds(), "samples/s")
	})
}
