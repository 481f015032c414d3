package main

import (
	"strings"
	"testing"

	"metricsd"
	"metricsd/internal/testnet"
)

// startHTTPServer runs a real server with its HTTP API on 127.0.0.1:0 and,
// when dataDir is set, durable, until the test ends. It returns the
// protocol and HTTP addresses.
func startHTTPServer(t *testing.T, dataDir string) (addr, httpAddr string) {
	t.Helper()
	cfg := metricsd.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = dataDir
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr = testnet.Serve(t, srv, nil)
	testnet.WaitFor(t, "the HTTP API listening", func() bool { return srv.HTTPAddr() != nil })
	return addr, srv.HTTPAddr().String()
}

func TestDeleteCommand(t *testing.T) {
	for _, dataDir := range []string{"", t.TempDir()} {
		name := "in memory"
		if dataDir != "" {
			name = "data directory"
		}
		t.Run(name, func(t *testing.T) {
			addr, httpAddr := startHTTPServer(t, dataDir)
			for _, k := range []string{"servers.a.cpu", "servers.b.cpu", "servers.a.mem", "evil"} {
				if r := runArgs(t, "put", "--addr", addr, k, "1", "1"); r.code != exitOK {
					t.Fatalf("put %s: %+v", k, r)
				}
			}
			r := runArgs(t, "delete", "--http-addr", httpAddr, "servers.*.cpu")
			if r.code != exitOK || r.stdout != "2\n" {
				t.Fatalf("delete: %+v, want 2", r)
			}
			if r := runArgs(t, "put", "--addr", addr, "servers.a.cpu", "2", "2"); r.code != exitOK {
				t.Fatalf("put again: %+v", r)
			}
			if r := runArgs(t, "get", "--addr", addr, "*"); r.stdout != "servers.a.mem 1.0 1\nevil 1.0 1\nservers.a.cpu 2.0 2\n" {
				t.Fatalf("get * after the delete:\n%s", r.stdout)
			}
			r = runArgs(t, "delete", "--http-addr", httpAddr, "a.[b")
			if r.code != exitFailure || !strings.Contains(r.err, "400 Bad Request") {
				t.Fatalf("delete of a bad glob: %+v", r)
			}
		})
	}
}

func TestDeleteCommandErrors(t *testing.T) {
	if r := runArgs(t, "delete"); r.code != exitUsage || !strings.Contains(r.err, "want one GLOB, got 0") {
		t.Errorf("no glob: %+v", r)
	}
	if r := runArgs(t, "delete", "--http-addr", freeAddr(t), "x"); r.code != exitFailure || !strings.Contains(r.err, "connection refused") {
		t.Errorf("nothing listening: %+v", r)
	}
	if r := runArgs(t, "repair"); r.code != exitUsage || !strings.Contains(r.err, "--data-dir is required") {
		t.Errorf("repair without a directory: %+v", r)
	}
	if r := runArgs(t, "repair", "--data-dir", t.TempDir()+"/none"); r.code != exitFailure {
		t.Errorf("repair of a missing directory: %+v", r)
	}
	dir := t.TempDir()
	if r := runArgs(t, "repair", "--data-dir", dir); r.code != exitOK || r.stdout != "nothing to repair in "+dir+"\n" {
		t.Errorf("repair of an empty directory: %+v", r)
	}
}
