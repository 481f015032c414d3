package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpListeningLine matches the HTTP API's log line giving its address.
var httpListeningLine = regexp.MustCompile(`msg="http listening" .*\baddr=("?)(\S+?)("?)(\s|$)`)

// TestBinaryExitsZeroAfterDroppingStragglers stops the real binary with
// SIGTERM while a protocol client does not read its answers and a POST
// /render waits for the rest of its body: after --shutdown-grace the
// server drops both, logs a warning and exits 0 (issue #11.8), where it
// used to exit 1, which supervisors read as a crash.
func TestBinaryExitsZeroAfterDroppingStragglers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*testTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "metricsd")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--in-memory",
		"--http-addr", "127.0.0.1:0", "--shutdown-grace", "1s", "--write-timeout", "0")
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill() })
	lines := logLines(stderr)
	addr := waitListening(t, lines)
	httpAddr := waitLine(t, lines, httpListeningLine)

	// A non-reading protocol client: 2,000 points, then 2,000 "get *" whose
	// answers (40 kB each) it never reads.
	proto := dialRaw(t, addr)
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "put straggler.key %d %d\n", i, i+1)
	}
	if _, err := io.WriteString(proto, b.String()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(proto)
	for i := range 2000 {
		if ans, err := r.ReadString('\n'); err != nil || ans != "ok\n" {
			t.Fatalf("put %d: %q, %v", i, ans, err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.WriteString(proto, strings.Repeat("get *\n", 2000)); err != nil {
		t.Fatal(err)
	}
	// A /render in flight: its form body never comes. net/http answers
	// "100 Continue" once the handler reads the body, so it is in flight.
	render := dialRaw(t, httpAddr)
	if _, err := io.WriteString(render, "POST /render HTTP/1.1\r\nHost: metricsd\r\nExpect: 100-continue\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(render).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("no 100 Continue from /render: %q, %v", line, err)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest := drain(t, lines)
	if err := srv.Wait(); err != nil {
		t.Errorf("serve after SIGTERM with stragglers: %v, want exit 0; log %q", err, rest)
	}
	log := strings.Join(rest, "\n")
	if !strings.Contains(log, "shutdown grace period ended") || !strings.Contains(log, "level=WARN") {
		t.Errorf("no warning about dropped connections in the log:\n%s", log)
	}
	if strings.Contains(log, "metricsd failed") {
		t.Errorf("the log reports a failure:\n%s", log)
	}
}

// dialRaw opens a TCP connection to addr, closed when the test ends.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(4 * testTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// waitLine reads log lines until one matches re and returns its second
// group (the address).
func waitLine(t *testing.T, lines <-chan string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("log ended before a line matching %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m[2]
			}
		case <-deadline:
			t.Fatalf("no line matching %s in the log in time", re)
		}
	}
}
