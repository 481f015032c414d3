package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"metricsd"
	"metricsd/internal/testnet"
)

// testTimeout bounds anything a test waits for.
const testTimeout = 10 * time.Second

// result is what one command line produced.
type result struct {
	code        int
	stdout, err string
}

// runArgs runs a command line in process.
func runArgs(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	code := runContext(ctx, args, stdio{out: &out, err: &errb})
	return result{code: code, stdout: out.String(), err: errb.String()}
}

// startServer runs a real server on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := metricsd.NewServer(metricsd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return testnet.Serve(t, srv, nil)
}

// freeAddr returns an address on 127.0.0.1 where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"--help"}, "usage: metricsd <command>"},
		{[]string{"-h"}, "usage: metricsd <command>"},
		{[]string{"help"}, "usage: metricsd <command>"},
		{[]string{"help", "help"}, "usage: metricsd <command>"},
		{[]string{"help", "put"}, "usage: metricsd put"},
		{[]string{"put", "--help"}, "-timeout duration"},
		{[]string{"put", "-h"}, "usage: metricsd put"},
		{[]string{"get", "--help"}, "usage: metricsd get"},
		{[]string{"serve", "--help"}, "-max-line-length bytes"},
		{[]string{"serve", "-help"}, "default \"127.0.0.1:8888\""},
		{[]string{"version", "--help"}, "usage: metricsd version"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runArgs(t, tt.args...)
			if r.code != exitOK || !strings.Contains(r.stdout, tt.want) || r.err != "" {
				t.Errorf("code %d, stdout %q, stderr %q; want 0 and stdout containing %q", r.code, r.stdout, r.err, tt.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{nil, "usage: metricsd <command>"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"help", "frob"}, `unknown command "frob"`},
		{[]string{"help", "put", "get"}, "at most one command"},
		{[]string{"version", "x"}, `unexpected argument "x"`},
		{[]string{"put"}, "want KEY VALUE [TIMESTAMP], got 0"},
		{[]string{"put", "k"}, "want KEY VALUE [TIMESTAMP], got 1"},
		{[]string{"put", "k", "1", "2", "3"}, "got 4"},
		{[]string{"put", "k", "x"}, `invalid VALUE "x"`},
		{[]string{"put", "k", "0x10"}, `invalid VALUE "0x10"`},
		{[]string{"put", "k", "1__0"}, `invalid VALUE "1__0"`},
		{[]string{"put", "k", "1", "1.5"}, `invalid TIMESTAMP "1.5"`},
		{[]string{"put", "k", "1", "9223372036854775808"}, "invalid TIMESTAMP"},
		{[]string{"put", "a b", "1"}, "invalid key"},
		{[]string{"put", "", "1"}, "invalid key"},
		{[]string{"put", "--bogus", "k", "1"}, "flag provided but not defined: -bogus"},
		{[]string{"put", "--timeout", "-1s", "k", "1"}, "--timeout must not be negative"},
		{[]string{"put", "--addr", "", "k", "1"}, "--addr must not be empty"},
		{[]string{"get"}, "want one KEY, got 0"},
		{[]string{"get", "a", "b"}, "want one KEY, got 2"},
		{[]string{"get", "a\tb"}, "invalid key"},
		{[]string{"get", "--timeout", "soon", "k"}, "invalid value \"soon\" for flag -timeout"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--max-line-length", "0"}, "metricsd serve: metricsd: max line length 0 must be at least 1"},
		{[]string{"serve", "--pprof", "--http-addr", ""}, "pprof is served on the HTTP API, which has no address"},
		{[]string{"serve", "--addr", ""}, "--addr must not be empty"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runArgs(t, tt.args...)
			if r.code != exitUsage || !strings.Contains(r.err, tt.want) || r.stdout != "" {
				t.Errorf("code %d, stdout %q, stderr %q; want 2 and stderr containing %q", r.code, r.stdout, r.err, tt.want)
			}
		})
	}
}

func TestPutGet(t *testing.T) {
	addr := startServer(t)
	puts := [][]string{
		{"k1", "0.25", "1"},
		{"k1", "2.156", "2"},
		{"k2", "10", "5"},
		{"k1", "1e16", "3"},
		{"k2", "-0", "+6"},
		{"k3", "1_000.5", "007"},
		{"k3", "1e400", "8"},
		{"k3", "NaN", "9"},
		{"k3", "-inf", "-10"},
		{"k2", "11", "5"}, // replaces k2@5
	}
	for _, p := range puts {
		if r := runArgs(t, append([]string{"put", "--addr", addr}, p...)...); r.code != exitOK || r.stdout != "" || r.err != "" {
			t.Fatalf("put %v: code %d, stdout %q, stderr %q", p, r.code, r.stdout, r.err)
		}
	}
	tests := []struct {
		key, want string
	}{
		{"*", "k1 0.25 1\nk1 2.156 2\nk1 1e+16 3\nk2 11.0 5\nk2 -0.0 6\nk3 -inf -10\nk3 1000.5 7\nk3 inf 8\nk3 nan 9\n"},
		{"k2", "k2 11.0 5\nk2 -0.0 6\n"},
		{"nothing", ""},
	}
	for _, tt := range tests {
		r := runArgs(t, "get", "--addr", addr, "--timeout", "0", tt.key)
		if r.code != exitOK || r.stdout != tt.want || r.err != "" {
			t.Errorf("get %s: code %d, stdout %q, stderr %q; want 0 and %q", tt.key, r.code, r.stdout, r.err, tt.want)
		}
	}
}

func TestPutDefaultTimestamp(t *testing.T) {
	addr := startServer(t)
	before := time.Now().Unix()
	if r := runArgs(t, "put", "--addr", addr, "now", "1"); r.code != exitOK {
		t.Fatalf("put: code %d, stderr %q", r.code, r.err)
	}
	after := time.Now().Unix()
	r := runArgs(t, "get", "--addr", addr, "now")
	var ts int64
	var v float64
	if _, err := fmt.Sscanf(r.stdout, "now %g %d\n", &v, &ts); err != nil || ts < before || ts > after {
		t.Errorf("get now = %q (%v); want a timestamp in [%d, %d]", r.stdout, err, before, after)
	}
}

func TestRuntimeErrors(t *testing.T) {
	addr := freeAddr(t)
	for _, args := range [][]string{
		{"put", "--addr", addr, "k", "1", "1"},
		{"get", "--addr", addr, "k"},
	} {
		r := runArgs(t, args...)
		if r.code != exitFailure || !strings.Contains(r.err, "metricsd "+args[0]+": ") || !strings.Contains(r.err, "network error") {
			t.Errorf("%v: code %d, stderr %q; want 1 and a network error", args, r.code, r.err)
		}
	}
}

func TestServeConfig(t *testing.T) {
	tests := []struct {
		args    []string
		addr    string
		maxLine int
	}{
		{nil, metricsd.DefaultAddr, metricsd.DefaultMaxLineLength},
		{[]string{"--addr", "127.0.0.1:0"}, "127.0.0.1:0", metricsd.DefaultMaxLineLength},
		{[]string{"-addr=:9999", "-max-line-length=10"}, ":9999", 10},
	}
	for _, tt := range tests {
		cfg, err := serveConfig(tt.args)
		if err != nil || cfg.Addr != tt.addr || cfg.MaxLineLength != tt.maxLine {
			t.Errorf("serveConfig(%q) = %+v, %v; want addr %q max line %d", tt.args, cfg, err, tt.addr, tt.maxLine)
		}
	}
}

func TestServeBindError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runArgs(t, "serve", "--addr", ln.Addr().String(), "--in-memory", "--http-addr", "")
	if r.code != exitFailure || !strings.Contains(r.err, "level=ERROR") {
		t.Errorf("serve on a taken port: code %d, stderr %q; want 1 and an error log", r.code, r.err)
	}
}

func TestVersion(t *testing.T) {
	r := runArgs(t, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "metricsd ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: code %d, stdout %q", r.code, r.stdout)
	}
}
