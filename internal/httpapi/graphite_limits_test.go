package httpapi

import (
	"net/http"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"metricsd/internal/graphiteweb"
)

// hostileTargets is issue #11's request: 256 targets of 8 nodes, each
// node a brace product of 10,000 alternatives ({0,...,9} four times).
func hostileTargets() []string {
	digits := "{0,1,2,3,4,5,6,7,8,9}"
	node := "a" + strings.Repeat(digits, 4)
	target := strings.TrimSuffix(strings.Repeat(node+".", 8), ".")
	out := make([]string, 256)
	for i := range out {
		out[i] = target
	}
	return out
}

// heapBytes is the live heap, read without stopping the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestHostileRenderStaysBounded sends the 368 KB POST that took the old
// server past 4 GiB, several times, while another client renders: the
// hostile request gets a 422 naming the glob limit, the other client is
// served, and the heap grows by less than 200 MiB at its peak.
func TestHostileRenderStaysBounded(t *testing.T) {
	a := startAPI(t, Config{})
	a.put(t, "palm.cpu", 1, 1499999990)
	form := url.Values{"target": hostileTargets(), "from": {"-1h"}, "format": {"json"}}
	if n := len(form.Encode()); n < 300_000 || n > maxFormBytes {
		t.Fatalf("hostile form is %d bytes, want about 368 KB", n)
	}
	runtime.GC()
	base := heapBytes()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				code, _, body := a.do(t, http.MethodPost, "/render", form)
				if code != http.StatusUnprocessableEntity || !strings.Contains(body, "--graphite-max-glob-alternatives") {
					t.Errorf("hostile render = %d %q, want 422 naming the limit", code, body)
				}
			}
		}()
	}
	for range 20 {
		code, _, body := a.get(t, "/render?target=palm.cpu&from=-1min&format=json")
		if code != 200 || !strings.Contains(body, `"palm.cpu"`) {
			t.Errorf("the other client's render = %d %q", code, body)
		}
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	growth := int64(peak.Load()) - int64(base)
	t.Logf("heap growth at peak: %.1f MiB", float64(growth)/(1<<20))
	if growth > 200<<20 {
		t.Errorf("heap grew by %d MiB at its peak, want under 200 MiB", growth>>20)
	}
}

// TestQueryLimitsAnswers checks each limit's status and message, and that
// a render cut by its time budget still gets a status.
func TestQueryLimitsAnswers(t *testing.T) {
	for _, tt := range []struct {
		limits graphiteweb.Limits
		path   string
		code   int
		want   string
	}{
		{graphiteweb.Limits{MaxSeries: 2}, "/render?target=s.*&format=json", 422, "--graphite-max-series"},
		{graphiteweb.Limits{MaxSeries: 2}, "/metrics/find?query=s.*", 422, "--graphite-max-series"},
		{graphiteweb.Limits{MaxPoints: 100}, "/render?target=s.*&from=-1d&format=json", 422, "--graphite-max-points"},
		{graphiteweb.Limits{MaxAlternatives: 2}, "/metrics/find?query=s.{1,2,3}", 422, "--graphite-max-glob-alternatives"},
		{graphiteweb.Limits{MaxAlternatives: 2}, "/metrics/expand?query=s.{1,2,3}", 422, "--graphite-max-glob-alternatives"},
		{graphiteweb.Limits{Timeout: time.Nanosecond}, "/render?target=s.*&format=json", 503, "time budget"},
	} {
		a := startAPI(t, Config{GraphiteLimits: tt.limits})
		for _, k := range []string{"s.1", "s.2", "s.3"} {
			a.put(t, k, 1, 1499999990)
		}
		code, _, body := a.get(t, tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%+v %s = %d %q, want %d mentioning %q", tt.limits, tt.path, code, body, tt.code, tt.want)
		}
	}
}
