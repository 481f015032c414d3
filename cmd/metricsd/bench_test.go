package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	addr := startServer(t)
	r := runArgs(t, "bench", "--addr", addr, "-c", "3", "-P", "4", "-n", "600", "--keys", "30", "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	var doc struct {
		Workload     string  `json:"workload"`
		Requests     int64   `json:"requests"`
		OK           int64   `json:"ok"`
		OpsPerSecond float64 `json:"ops_per_second"`
		Errors       struct {
			Total int64 `json:"total"`
		} `json:"errors"`
		Latency *struct {
			P99 float64 `json:"p99"`
		} `json:"latency_us"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if doc.Workload != "put" || doc.Requests != 600 || doc.OK != 600 || doc.Errors.Total != 0 ||
		doc.OpsPerSecond <= 0 || doc.Latency == nil || doc.Latency.P99 <= 0 {
		t.Errorf("report %+v", doc)
	}
	if r.err != "" {
		t.Errorf("stderr %q: no progress line unless stderr is a terminal or --progress", r.err)
	}
	get := runArgs(t, "bench", "--addr", addr, "-c", "1", "-n", "3", "--workload", "getall")
	if get.code != exitOK || !strings.Contains(get.stdout, "read       1800 points") {
		t.Errorf("getall: exit %d, stdout %q, stderr %q", get.code, get.stdout, get.err)
	}
}

func TestBenchTextAndProgress(t *testing.T) {
	addr := startServer(t)
	r := runArgs(t, "bench", "--addr", addr, "-c", "2", "-n", "100", "--progress", "--values", "gauge", "--order", "random")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	for _, want := range []string{"put against " + addr, "requests   100 in", "latency    p50", "errors     0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.HasPrefix(r.err, "\r") || !strings.HasSuffix(r.err, "0 errors\n") {
		t.Errorf("progress on stderr %q: want \\r-updated lines ending in a newline", r.err)
	}
}

func TestBenchFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"remote target", []string{"--addr", "10.1.2.3:8888"}, exitUsage, "loopback"},
		{"remote verifier", []string{"--workload", "graphite", "--verify-addr", "10.1.2.3:8888"}, exitUsage, "loopback"},
		{"no connections", []string{"-c", "0"}, exitUsage, "connections 0"},
		{"no bound", []string{"-n", "0", "--duration", "0"}, exitUsage, "at least one bound"},
		{"unknown workload", []string{"--workload", "delete"}, exitUsage, "workload"},
		{"unknown order", []string{"--order", "sorted"}, exitUsage, "order"},
		{"unknown values", []string{"--values", "int"}, exitUsage, "value shape"},
		{"graphite unverified", []string{"--workload", "graphite"}, exitUsage, "verifier"},
		{"two verifiers", []string{"--verify-addr", "127.0.0.1:1", "--verify-url", "http://127.0.0.1:1/"}, exitUsage, "not both"},
		{"url without metric", []string{"--verify-url", "http://127.0.0.1:1/metrics"}, exitUsage, "--verify-metric"},
		{"argument", []string{"extra"}, exitUsage, "unexpected argument"},
		{"bad flag", []string{"--nope"}, exitUsage, "nope"},
	}
	for _, tc := range tests {
		r := runArgs(t, append([]string{"bench"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.err, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, r.code, r.err, tc.code, tc.want)
		}
	}
}

func TestBenchNoServer(t *testing.T) {
	r := runArgs(t, "bench", "--addr", freeAddr(t), "-c", "1", "-n", "10")
	if r.code != exitFailure || !strings.Contains(r.err, "no request got through") {
		t.Errorf("exit %d, stderr %q; want a failure", r.code, r.err)
	}
}

func TestBenchHelp(t *testing.T) {
	r := runArgs(t, "bench", "--help")
	for _, want := range []string{"usage: metricsd bench", "-P depth", "-workload kind", "--allow-remote"} {
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q (exit %d):\n%s", want, r.code, r.stdout)
		}
	}
}
