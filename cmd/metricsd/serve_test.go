package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listeningLine matches the server's log line giving the bound address.
var listeningLine = regexp.MustCompile(`msg="metricsd listening" .*\baddr=("?)(\S+?)("?)(\s|$)`)

// logLines scans r in a goroutine and sends its lines on the returned
// channel, which is closed at the end of r. Reading r to its end keeps the
// writer from blocking.
func logLines(r io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		io.Copy(io.Discard, r)
	}()
	return ch
}

// waitListening reads log lines until the "metricsd listening" line and
// returns its address.
func waitListening(t *testing.T, lines <-chan string) string {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("log ended before the listening line")
			}
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				return m[2]
			}
		case <-deadline:
			t.Fatal("no listening line in the log in time")
		}
	}
}

// drain reads the remaining log lines until the log ends.
func drain(t *testing.T, lines <-chan string) []string {
	t.Helper()
	var rest []string
	deadline := time.After(testTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return rest
			}
			rest = append(rest, line)
		case <-deadline:
			t.Fatalf("log did not end in time; so far %q", rest)
		}
	}
}

// checkPutGet puts two points through put and reads them back through get,
// running a command line with runCmd.
func checkPutGet(t *testing.T, addr string, runCmd func(args ...string) result) {
	t.Helper()
	for _, args := range [][]string{
		{"put", "--addr", addr, "cpu", "0.5", "2"},
		{"put", "--addr", addr, "cpu", "-1e16", "1"},
	} {
		if r := runCmd(args...); r.code != exitOK {
			t.Fatalf("%v: code %d, stderr %q", args, r.code, r.err)
		}
	}
	want := "cpu -1e+16 1\ncpu 0.5 2\n"
	if r := runCmd("get", "--addr", addr, "*"); r.code != exitOK || r.stdout != want {
		t.Fatalf("get *: code %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.err, want)
	}
}

func TestServeInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	lines := logLines(pr)
	code := make(chan int, 1)
	go func() {
		code <- runContext(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--in-memory", "--http-addr", ""}, stdio{out: io.Discard, err: pw})
		pw.Close()
	}()
	addr := waitListening(t, lines)
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("listening line gives %q, want the bound port", addr)
	}
	checkPutGet(t, addr, func(args ...string) result { return runArgs(t, args...) })
	cancel()
	rest := drain(t, lines)
	if c := <-code; c != exitOK {
		t.Errorf("serve exited %d after cancellation, want 0; log %q", c, rest)
	}
}

// TestBinary builds the command, serves on an ephemeral port, talks to it
// with the binary's put and get, and stops it with SIGINT.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*testTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "metricsd")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--in-memory", "--http-addr", "")
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

	checkPutGet(t, addr, func(args ...string) result { return runBinary(ctx, t, bin, args...) })
	if r := runBinary(ctx, t, bin, "get", "--addr", addr); r.code != exitUsage {
		t.Errorf("get without KEY exited %d, want %d", r.code, exitUsage)
	}

	if err := srv.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest := drain(t, lines)
	if err := srv.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v, want exit 0; log %q", err, rest)
	}
}

// runBinary runs the built command.
func runBinary(ctx context.Context, t *testing.T, bin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), err: errb.String()}
}
