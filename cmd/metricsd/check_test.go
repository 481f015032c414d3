package main

import (
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCheckAgainstMetricsd(t *testing.T) {
	addr := startServer(t)
	r := runArgs(t, "check", addr)
	if r.code != exitOK {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.err)
	}
	if !strings.Contains(r.stdout, "PASS course/acceptance:") || !strings.Contains(r.stdout, " 0 failed, 0 differ") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}

	r = runArgs(t, "check", "--json", "--only", "replies/float-10,semantics/key-order", "--prefix", "mine.", addr)
	if r.code != exitOK {
		t.Fatalf("--json: exit %d, stderr: %s", r.code, r.err)
	}
	var out struct {
		Checks []struct{ Check, Status, Expected, Received string }
		Counts map[string]int
		OK     bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v in %s", err, r.stdout)
	}
	if !out.OK || len(out.Checks) != 2 || out.Counts["PASS"] != 2 || out.Checks[0].Check != "replies/float-10" {
		t.Fatalf("JSON: %+v", out)
	}
	if !strings.HasPrefix(out.Checks[0].Received, `"ok\nmine.`) {
		t.Fatalf("keys do not start with the prefix: %s", out.Checks[0].Received)
	}
}

func TestCheckFailsWithoutServer(t *testing.T) {
	r := runArgs(t, "check", "--only", "replies/empty-get", freeAddr(t))
	if r.code != exitFailure || !strings.Contains(r.stdout, "FAIL replies/empty-get") || !strings.Contains(r.stdout, "connect:") {
		t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestCheckList(t *testing.T) {
	r := runArgs(t, "check", "--list")
	names := strings.Fields(r.stdout)
	if r.code != exitOK || len(names) < 30 || names[0] != "course/acceptance" || !strings.Contains(r.stdout, "\nreplies/float-10\n") {
		t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range [][]string{
		{"check"},
		{"check", "--prefix", "has space", "127.0.0.1:1"},
		{"check", "--only", "nope", "127.0.0.1:1"},
		{"check", "--timeout", "0s", "127.0.0.1:1"},
	} {
		if r := runArgs(t, args...); r.code != exitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %s", args, r.code, exitUsage, r.err)
		}
	}
}

// TestCheckSpreadsSessionsOverAddresses runs the checks against two
// addresses of one server (the server and a forwarder to it, as two nodes
// of a cluster would be): every check passes, and both addresses got
// connections.
func TestCheckSpreadsSessionsOverAddresses(t *testing.T) {
	addr := startServer(t)
	fwd, forwarded := forwarder(t, addr)
	r := runArgs(t, "check", addr, fwd)
	if r.code != exitOK || !strings.Contains(r.stdout, " 0 failed, 0 differ") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.err)
	}
	if n := forwarded.Load(); n < 10 {
		t.Fatalf("the second address got %d connections, want a share of the checks' sessions", n)
	}
}

// forwarder listens on a loopback port and copies every connection to and
// from addr; it returns its address and a count of connections.
func forwarder(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{})
				go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); close(done) }()
				io.Copy(c, up)
				<-done
			}()
		}
	}()
	return ln.Addr().String(), &n
}
