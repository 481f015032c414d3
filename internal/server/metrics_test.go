package server

import (
	"bufio"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// samples returns how many observations a histogram child holds.
func samples(t *testing.T, o prometheus.Observer) uint64 {
	t.Helper()
	var m dto.Metric
	if err := o.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestRequestMetrics(t *testing.T) {
	m := NewMetrics(nil)
	ts := startWith(t, Config{MaxLineLength: 16, Metrics: m})
	c := ts.dial(t)
	req := strings.Repeat("put k 1 1\n", 2*putSampleEvery) + "get k\nget *\nget nothing\nbad\n" +
		strings.Repeat("x", 40) + "\nput k bad 1\n"
	exchange(t, c, bufio.NewReader(c), req, 2*putSampleEvery+6)
	for _, tt := range []struct {
		name string
		got  float64
		want float64
	}{
		{"puts ok", testutil.ToFloat64(m.putOK), 2 * putSampleEvery},
		{"gets ok", testutil.ToFloat64(m.getOK), 2},
		{"get * ok", testutil.ToFloat64(m.getAllOK), 1},
		{"wrong command", testutil.ToFloat64(m.wrongCommand), 2},
		{"line too long", testutil.ToFloat64(m.lineTooLong), 1},
		{"bytes in", testutil.ToFloat64(m.bytesIn), float64(len(req))},
		{"put latency samples", float64(samples(t, m.putSeconds)), 2},
		{"get latency samples", float64(samples(t, m.getSeconds)), 3},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
