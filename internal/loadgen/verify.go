package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Counter counts the points a server has stored, to confirm a Graphite run
// (whose lines get no answers) by what actually arrived.
type Counter interface {
	Count(ctx context.Context) (int64, error)
}

// ProtocolCounter counts the points of every key with one "get *" on a
// metricsd protocol port: the end-to-end check for metricsd's Graphite port.
type ProtocolCounter struct {
	Addr    string
	Timeout time.Duration // bounds one count; 0 means DefaultTimeout
}

// Target is the address counted, for the loopback check.
func (p ProtocolCounter) Target() string { return p.Addr }

// Count implements Counter.
func (p ProtocolCounter) Count(ctx context.Context) (int64, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return 0, fmt.Errorf("count points: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("get *\n")); err != nil {
		return 0, fmt.Errorf("count points: send get *: %w", err)
	}
	a, err := NewReader(conn).Next(Expect{Get: true})
	if err != nil {
		return 0, fmt.Errorf("count points: %w", err)
	}
	if a.Verdict != VerdictOK {
		return 0, fmt.Errorf("count points: get * on %s was not answered ok", p.Addr)
	}
	return a.Points, nil
}

// MetricCounter sums the samples of one metric on a Prometheus text
// endpoint, such as VictoriaMetrics's vm_rows_inserted_total{type="graphite"}
// on /metrics.
type MetricCounter struct {
	URL string
	// Metric is a metric name, which sums every label set of it, or a full
	// series as the endpoint prints it (name{label="value",...}).
	Metric string
	Client *http.Client // nil means one with DefaultTimeout
}

// Target is the URL's host:port, for the loopback check.
func (m MetricCounter) Target() string {
	u, err := url.Parse(m.URL)
	if err != nil || u.Hostname() == "" {
		return m.URL // CheckLoopback reports it as malformed
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Count implements Counter.
func (m MetricCounter) Count(ctx context.Context) (int64, error) {
	client := m.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", m.Metric, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", m.Metric, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("count %s: %s answered %s", m.Metric, m.URL, resp.Status)
	}
	sum, found, err := sumMetric(bufio.NewScanner(resp.Body), m.Metric)
	if err != nil {
		return 0, fmt.Errorf("count %s: read %s: %w", m.Metric, m.URL, err)
	}
	if !found {
		return 0, fmt.Errorf("count %s: %s has no such metric", m.Metric, m.URL)
	}
	return sum, nil
}

// sumMetric adds up the samples of metric in Prometheus text lines
// "<series> <value>"; it reports whether any line matched.
func sumMetric(sc *bufio.Scanner, metric string) (int64, bool, error) {
	var sum float64
	found := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 || !seriesMatches(line[:sp], metric) {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			return 0, false, fmt.Errorf("sample %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, err
	}
	return int64(sum), found, nil
}

// seriesMatches reports whether series is metric: the same series, or any
// label set of a bare metric name.
func seriesMatches(series, metric string) bool {
	if strings.ContainsRune(metric, '{') {
		return series == metric
	}
	name, _, _ := strings.Cut(series, "{")
	return name == metric
}
