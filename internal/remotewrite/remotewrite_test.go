package remotewrite

import (
	"errors"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"metricsd/internal/tags"
)

func labels(kv ...string) []prompb.Label {
	var out []prompb.Label
	for i := 0; i < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestName(t *testing.T) {
	tests := []struct {
		labels []prompb.Label
		want   string
		reason string
	}{
		{labels("__name__", "up"), "up", ""},
		{labels("__name__", "http_requests_total", "code", "200", "job", "api"), "http_requests_total;code=200;job=api", ""},
		// carbon's order: "a1=" sorts before "a=", unlike Prometheus' "a" < "a1"
		{labels("__name__", "m", "a", "x", "a1", "y"), "m;a1=y;a=x", ""},
		{labels("__name__", "m", "job", "a b;c"), "m;job=a_b_c", ""},
		{labels("__name__", "m", "job", "~x~"), "m;job=_x~", ""},
		{labels("__name__", "m", "job", ""), "m", ""},
		{labels("__name__", "m", "name", "web"), "m;exported_name=web", ""},
		{labels("__name__", "m", "instance", "127.0.0.1:9090", "quantile", "0.5"), "m;instance=127.0.0.1:9090;quantile=0.5", ""},
		{labels("__name__", "m", "le", "+Inf"), "m;le=+Inf", ""},
		{labels("__name__", "m", "path", "/a=b"), "m;path=/a=b", ""},
		{labels("__name__", "m", "é", "ü"), "m;é=ü", ""},
		// not UTF-8: copied byte for byte (it panicked, found by FuzzDecode)
		{labels("__name__", "m", "v", "\x9a0 \xff"), "m;v=\x9a0_\xff", ""},
		{labels("job", "x"), "", ReasonNoName},
		{labels("__name__", ""), "", ReasonNoName},
		{labels("__name__", "m", "a!b", "x"), "", ReasonLabel},
		{labels("__name__", "m", "a=b", "x"), "", ReasonLabel},
		{labels("__name__", "~~"), "", ReasonTags},
		{labels("__name__", "a;b"), "", ReasonTags},
	}
	var n Namer
	for _, tt := range tests {
		got, err := n.Name(tt.labels)
		if tt.reason != "" {
			if ReasonOf(err) != tt.reason {
				t.Errorf("Name(%v) = %q, %v; want reason %s", tt.labels, got, err, tt.reason)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Name(%v) = %q, %v; want %q", tt.labels, got, err, tt.want)
		}
		if !tags.IsNormalized(string(got)) {
			t.Errorf("Name(%v) = %q is not normalized", tt.labels, got)
		}
	}
	// Sanitizing can merge series: carbon's syntax is the narrower one.
	a, err1 := n.Name(labels("__name__", "m", "a", "x y"))
	sa := string(a)
	b, err2 := n.Name(labels("__name__", "m", "a", "x_y"))
	if err1 != nil || err2 != nil || sa != string(b) {
		t.Errorf("x y and x_y: %q, %q", sa, b)
	}
	if ReasonOf(errors.New("disk")) != ReasonStore {
		t.Error("ReasonOf(other) is not store")
	}
}

// TestNameAllocations: with buffers that have grown, mapping a series
// whose labels need sorting allocates nothing.
func TestNameAllocations(t *testing.T) {
	ls := labels("__name__", "m", "a", "x", "a1", "y", "job", "j")
	var namer Namer
	n := testing.AllocsPerRun(100, func() {
		if _, err := namer.Name(ls); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Name: %v allocations, want 0", n)
	}
}

func encode(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func TestDecode(t *testing.T) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  labels("__name__", "up", "job", "x"),
		Samples: []prompb.Sample{{Value: 1, Timestamp: 1500000000123}},
	}}}
	got, err := Decode(encode(t, req))
	if err != nil || len(got.Timeseries) != 1 || got.Timeseries[0].Samples[0].Timestamp != 1500000000123 {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	if _, err := Decode([]byte("not snappy at all")); !errors.Is(err, ErrSnappy) {
		t.Errorf("Decode(garbage) = %v, want ErrSnappy", err)
	}
	if _, err := Decode(snappy.Encode(nil, []byte{0xff, 0xff, 0xff})); !errors.Is(err, ErrProtobuf) {
		t.Errorf("Decode(bad protobuf) = %v, want ErrProtobuf", err)
	}
	// A header claiming 64 MiB decoded is refused before decoding.
	huge := []byte{0x80, 0x80, 0x80, 0x20, 0x00}
	if _, err := Decode(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode(64 MiB header) = %v, want ErrTooLarge", err)
	}
}

// FuzzDecode feeds any body to Decode and maps every series it yields:
// nothing panics, and every accepted name is a normalized carbon name.
func FuzzDecode(f *testing.F) {
	f.Add(encode(f, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  labels("__name__", "up", "job", "x", "b", "~;"),
		Samples: []prompb.Sample{{Value: 1, Timestamp: 1}},
	}}}))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Decode(body)
		if err != nil {
			return
		}
		var n Namer
		for _, ts := range req.Timeseries {
			name, err := n.Name(ts.Labels)
			if err == nil && !tags.IsNormalized(string(name)) {
				t.Fatalf("Name(%v) = %q, not normalized", ts.Labels, name)
			}
		}
	})
}
