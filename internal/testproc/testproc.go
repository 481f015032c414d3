// Package testproc runs a program that the tests build as a real process,
// the way an operator or a crash treats it: it builds a main package once
// per test binary, starts it with arguments, learns the addresses it binds
// from the "... listening" lines of its log, signals it (SIGKILL, SIGTERM,
// SIGSTOP, SIGCONT) and keeps its log to show when a test fails. The
// end-to-end suites (tests/crash, tests/cluster) share it, so that every
// test that runs the metricsd binary starts, waits for and stops it the
// same way. Every wait is bounded, so a bug fails a test instead of
// hanging the suite.
//
// A binary built with -race (BuildFlags, from METRICSD_TEST_RACE=1) writes
// its race reports to stderr; a process whose log holds one fails the test
// that started it.
package testproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds each wait of a Proc whose Spec sets no Timeout.
const DefaultTimeout = 30 * time.Second

// BuildFlags are the go build flags that the end-to-end suites build the
// metricsd binary with: none, or -race when METRICSD_TEST_RACE=1. The
// suites build it plain by default: the race detector slows every node
// several times, the issue-sized load tests would not fit the suite's
// time, and the code the binary runs is also run in-process under
// go test -race by its own packages' tests.
func BuildFlags() []string {
	if os.Getenv("METRICSD_TEST_RACE") == "1" {
		return []string{"-race"}
	}
	return nil
}

// Binary is a program built for the tests, in a directory of its own.
type Binary struct {
	// Path is the executable's path.
	Path string
	dir  string
}

// Build builds the main package pkg (an import path such as
// "metricsd/cmd/metricsd") into a new temporary directory, with extra
// flags for go build (none for a plain build; "-race" for a race-detecting
// one, whose race reports then fail the test that started the process).
// A TestMain calls it once, before m.Run, and Remove after.
func Build(pkg string, flags ...string) (*Binary, error) {
	dir, err := os.MkdirTemp("", "testproc-")
	if err != nil {
		return nil, fmt.Errorf("testproc: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(pkg))
	args := append(append([]string{"build"}, flags...), "-o", path, pkg)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testproc: go build %s: %w\n%s", pkg, err, out)
	}
	return &Binary{Path: path, dir: dir}, nil
}

// Remove deletes the binary and its directory.
func (b *Binary) Remove() error {
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("testproc: remove %s: %w", b.dir, err)
	}
	return nil
}

// Spec says how to start a process.
type Spec struct {
	// Name names the process in messages (a node's name, "server").
	Name string
	// Args are the program's arguments.
	Args []string
	// Listen lists the listeners that Start waits for: "metricsd" waits
	// for the log line msg="metricsd listening" addr=HOST:PORT, "http"
	// for msg="http listening", and so on.
	Listen []string
	// Timeout bounds each wait (listening, exiting); DefaultTimeout if 0.
	Timeout time.Duration
	// LogTail is how many of the last log lines a failed test shows and
	// Log.Tail keeps in a message; 0 shows all of them. CLUSTER_DEBUG or
	// TESTPROC_LOG set in the environment always shows all.
	LogTail int
}

// Proc is a running (or exited) process started by Start.
type Proc struct {
	// Name is Spec.Name.
	Name string

	cmd     *exec.Cmd
	timeout time.Duration
	log     *Log
	done    chan error // Wait's result, put back by every reader

	mu    sync.Mutex
	addrs map[string]string // listener → address, from the log
	seen  chan struct{}     // closed and replaced when an address is learnt
}

// listening matches the log line a listener writes once it is bound; the
// first group is the listener ("metricsd", "http", "graphite udp").
var listening = regexp.MustCompile(`msg="([^"]+) listening" addr=(\S+)`)

// Start starts the program at path as spec says and waits until it has
// logged every listener of spec.Listen. It returns an error, with the log,
// when the process exits first or does not listen within the timeout; the
// process is then gone. The process is killed when the test ends, and its
// log shown if the test failed.
func Start(t testing.TB, path string, spec Spec) (*Proc, error) {
	t.Helper()
	p := &Proc{
		Name:    spec.Name,
		cmd:     exec.Command(path, spec.Args...),
		timeout: spec.Timeout,
		log:     &Log{tail: spec.LogTail},
		done:    make(chan error, 1),
		addrs:   make(map[string]string),
		seen:    make(chan struct{}),
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if os.Getenv("CLUSTER_DEBUG") != "" || os.Getenv("TESTPROC_LOG") != "" {
		p.log.tail = 0
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("testproc: %s: %w", p.Name, err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("testproc: start %s: %w", p.Name, err)
	}
	go p.readLog(stderr)
	t.Cleanup(func() {
		p.Kill()
		if p.log.raced() {
			t.Errorf("%s reported a data race (it was built with -race)", p.Name)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", p.Name, p.log.Tail())
		}
	})
	for _, l := range spec.Listen {
		if _, err := p.Addr(l); err != nil {
			p.Kill()
			return nil, err
		}
	}
	return p, nil
}

// readLog keeps every line of the process's stderr and the addresses it
// announces, then reaps the process.
func (p *Proc) readLog(stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.log.add(line)
		if m := listening.FindStringSubmatch(line); m != nil {
			p.mu.Lock()
			if _, ok := p.addrs[m[1]]; !ok {
				p.addrs[m[1]] = m[2]
				close(p.seen)
				p.seen = make(chan struct{})
			}
			p.mu.Unlock()
		}
	}
	// A line past the scanner's limit ends the scan: drain the rest so
	// that the process never blocks on a full pipe.
	io.Copy(io.Discard, stderr)
	p.done <- p.cmd.Wait()
}

// Addr returns the address of the process's listener (as in Spec.Listen),
// waiting for its listening line up to the timeout; it fails if the
// process exits first.
func (p *Proc) Addr(listener string) (string, error) {
	deadline := time.NewTimer(p.timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		addr, ok := p.addrs[listener]
		seen := p.seen
		p.mu.Unlock()
		if ok {
			return addr, nil
		}
		select {
		case <-seen:
		case err := <-p.done:
			p.done <- err
			// The log reader saw every line before reaping: one last look.
			p.mu.Lock()
			addr, ok := p.addrs[listener]
			p.mu.Unlock()
			if ok {
				return addr, nil
			}
			return "", fmt.Errorf("%s exited before %q listening (%v):\n%s", p.Name, listener, err, p.log.Tail())
		case <-deadline.C:
			return "", fmt.Errorf("%s: no %q listening line in %v:\n%s", p.Name, listener, p.timeout, p.log.Tail())
		}
	}
}

// Log is the process's stderr so far.
func (p *Proc) Log() *Log { return p.log }

// Pid is the process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process; a process that has exited is not an
// error.
func (p *Proc) Signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testproc: signal %s: %w", p.Name, err)
	}
	return nil
}

// Pause stops the process (SIGSTOP), as a long GC pause or a frozen VM
// would.
func (p *Proc) Pause() error { return p.Signal(syscall.SIGSTOP) }

// Continue resumes a paused process (SIGCONT).
func (p *Proc) Continue() error { return p.Signal(syscall.SIGCONT) }

// Kill sends SIGKILL (after SIGCONT, so that a paused process goes too)
// and waits for the process to go. It returns the wait's error: the
// killed status, or a timeout.
func (p *Proc) Kill() error {
	p.Signal(syscall.SIGCONT)
	p.Signal(syscall.SIGKILL)
	return p.Wait()
}

// Stop sends SIGTERM and returns the exit status once the process is
// gone: nil for a clean exit.
func (p *Proc) Stop() error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.Wait()
}

// Wait waits (up to the timeout) for the process to exit and returns its
// exit status, the same on every call. When the timeout passes it kills
// the process and says so.
func (p *Proc) Wait() error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(p.timeout):
		p.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit in %v", p.Name, p.timeout)
	}
}

// Log is a process's stderr, kept line by line for failure messages.
type Log struct {
	mu    sync.Mutex
	lines []string
	tail  int
	race  bool // a race detector report was seen
}

// raceReport starts the report of a binary built with -race.
const raceReport = "WARNING: DATA RACE"

func (l *Log) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	if strings.Contains(s, raceReport) {
		l.race = true
	}
	l.mu.Unlock()
}

func (l *Log) raced() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.race
}

// String is the whole log.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Tail is the last Spec.LogTail lines of the log (all of them when
// LogTail is 0).
func (l *Log) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if l.tail > 0 && len(lines) > l.tail {
		lines = lines[len(lines)-l.tail:]
	}
	return strings.Join(lines, "\n")
}

// Main is a test package's TestMain for tests of a binary: it builds pkg
// with BuildFlags into *bin, runs the tests, removes the binary and exits
// with the tests' status.
func Main(m *testing.M, pkg string, bin **Binary) {
	b, err := Build(pkg, BuildFlags()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = b
	code := m.Run()
	if err := b.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
