package metricsd

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testTimeout = 10 * time.Second

func TestServerLifecycle(t *testing.T) {
	srv, err := NewServer(DefaultConfig())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if srv.Addr() != nil {
		t.Fatalf("Addr before Serve = %v, want nil", srv.Addr())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	io.WriteString(c, "put a 1 1\nget a\n")
	got := make([]byte, len("ok\n\nok\na 1.0 1\n\n"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ok\n\nok\na 1.0 1\n\n" {
		t.Fatalf("answered %q, %v", got, err)
	}
	if srv.Addr().String() != ln.Addr().String() {
		t.Fatalf("Addr = %v, want %v", srv.Addr(), ln.Addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
}

func TestNewServerRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLineLength = 0
	if _, err := NewServer(cfg); err == nil {
		t.Fatal("NewServer accepted a zero line limit")
	}
}

func TestListenAndServeBindError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.Addr = ln.Addr().String()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe(); err == nil || !strings.Contains(err.Error(), cfg.Addr) {
		t.Fatalf("ListenAndServe on a taken port = %v, want an error naming %s", err, cfg.Addr)
	}
}

func TestRunServerBindErrorReturnsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	done := make(chan error, 1)
	go func() { done <- RunServer("127.0.0.1", port) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("RunServer on a taken port returned nil")
		}
	case <-time.After(testTimeout):
		t.Fatal("RunServer on a taken port did not return")
	}
}

// TestRunServerStopsOnSIGTERM runs RunServer in a child process (this test
// binary, re-executed), because the signal goes to the whole process.
func TestRunServerStopsOnSIGTERM(t *testing.T) {
	if os.Getenv("METRICSD_RUNSERVER_CHILD") == "1" {
		if err := RunServer("127.0.0.1", 0); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunServerStopsOnSIGTERM$")
	cmd.Env = append(os.Environ(), "METRICSD_RUNSERVER_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := waitListening(t, bufio.NewScanner(stderr))
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		io.Copy(io.Discard, stderr)
		waited <- cmd.Wait()
	}()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("RunServer child exited with %v after SIGTERM, want success", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("RunServer did not stop after SIGTERM")
	}
}

// waitListening reads log lines until the listening line and returns its
// address.
func waitListening(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "addr="); i >= 0 && strings.Contains(line, "listening") {
				found <- strings.Fields(line[i+len("addr="):])[0]
				return
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("server exited before logging its address")
		}
		return addr
	case <-time.After(testTimeout):
		t.Fatal("server did not log its address in time")
	}
	return ""
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"zero line limit", func(c *Config) { c.MaxLineLength = 0 }},
		{"negative max conns", func(c *Config) { c.MaxConns = -1 }},
		{"negative read timeout", func(c *Config) { c.ReadTimeout = -time.Second }},
		{"cert without key", func(c *Config) { c.TLSCertFile = "cert.pem" }},
		{"client CA without TLS", func(c *Config) { c.TLSClientCAFile = "ca.pem" }},
		{"missing TLS files", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "/nonexistent/c", "/nonexistent/k" }},
		{"node without cluster", func(c *Config) { c.Node = "n1" }},
		{"cluster without node", func(c *Config) { c.Cluster = []string{"nats://127.0.0.1:1"} }},
		{"cluster with a data dir", func(c *Config) {
			c.Cluster, c.Node, c.DataDir = []string{"nats://127.0.0.1:1"}, "n1", "/tmp/x"
		}},
		{"cluster with max series", func(c *Config) {
			c.Cluster, c.Node, c.MaxSeries = []string{"nats://127.0.0.1:1"}, "n1", 10
		}},
		{"cluster URL without scheme", func(c *Config) { c.Cluster, c.Node = []string{"127.0.0.1:1"}, "n1" }},
		{"read chunk without cluster", func(c *Config) { c.ClusterReadChunk = 1024 }},
		{"cluster read chunk too small", func(c *Config) {
			c.Cluster, c.Node, c.ClusterReadChunk = []string{"nats://127.0.0.1:1"}, "n1", 100
		}},
		{"cluster read chunk over NATS's payload", func(c *Config) {
			c.Cluster, c.Node, c.ClusterReadChunk = []string{"nats://127.0.0.1:1"}, "n1", 1<<20
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			if _, err := NewServer(cfg); err == nil {
				t.Fatal("NewServer accepted the config")
			}
		})
	}
}

func TestFsyncModeFlag(t *testing.T) {
	tests := []struct {
		in   string
		mode FsyncMode
		ok   bool
	}{
		{"always", FsyncAlways, true},
		{"interval", FsyncInterval, true},
		{"never", FsyncNever, true},
		{"Always", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		var m FsyncMode
		err := m.Set(tt.in)
		if (err == nil) != tt.ok || m != tt.mode || (tt.ok && m.String() != tt.in) {
			t.Errorf("Set(%q) = %v, %v", tt.in, m, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Fsync = 9
	if _, err := NewServer(cfg); err == nil {
		t.Error("NewServer with an unknown fsync mode succeeded")
	}
}
