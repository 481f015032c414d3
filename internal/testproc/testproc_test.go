package testproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as the program under test: it
// behaves as the variable's value says (see helper).
const helperEnv = "TESTPROC_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper is the program that the tests start: "listen" binds two loopback
// ports, logs them as metricsd does and waits for a signal (SIGTERM: exit
// 0); "exit" logs a line and exits 3 before listening; "silent" never
// logs a listening line.
func helper(mode string) int {
	switch mode {
	case "listen":
		// Catch SIGTERM before announcing: the test may send it at once.
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		for _, name := range []string{"metricsd", "http"} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer ln.Close()
			fmt.Fprintf(os.Stderr, "time=now level=INFO msg=\"%s listening\" addr=%s tls=false\n", name, ln.Addr())
		}
		<-term
		fmt.Fprintln(os.Stderr, "msg=\"shut down\"")
		return 0
	case "exit":
		fmt.Fprintln(os.Stderr, "msg=\"bad flag\" flag=--nope")
		return 3
	case "silent":
		time.Sleep(time.Hour) // the test kills it; this is the program, not a wait in a test
	}
	return 1
}

// self is this test binary, run as the helper program.
func self(t *testing.T, mode string) string {
	t.Helper()
	t.Setenv(helperEnv, mode)
	path, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartFindsAddresses(t *testing.T) {
	p, err := Start(t, self(t, "listen"), Spec{Name: "helper", Listen: []string{"metricsd", "http"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"metricsd", "http"} {
		addr, err := p.Addr(l)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", addr, DefaultTimeout)
		if err != nil {
			t.Fatalf("%s address %s: %v", l, addr, err)
		}
		c.Close()
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !strings.Contains(p.Log().String(), `msg="shut down"`) {
		t.Errorf("log has no shutdown line:\n%s", p.Log())
	}
	if err := p.Wait(); err != nil {
		t.Errorf("second Wait: %v, want the same nil", err)
	}
}

func TestStartErrors(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		timeout time.Duration
		want    []string // in the error
	}{
		{"exit", DefaultTimeout, []string{"helper exited before \"metricsd\" listening", "exit status 3", "--nope"}},
		{"silent", 200 * time.Millisecond, []string{"no \"metricsd\" listening line in 200ms"}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			_, err := Start(t, self(t, tt.mode), Spec{Name: "helper", Listen: []string{"metricsd"}, Timeout: tt.timeout})
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestKillPauseContinue(t *testing.T) {
	p, err := Start(t, self(t, "listen"), Spec{Name: "helper", Listen: []string{"metricsd"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	waitState(t, p.Pid(), "stopped", func(s byte) bool { return s == 'T' })
	if err := p.Continue(); err != nil {
		t.Fatal(err)
	}
	waitState(t, p.Pid(), "running", func(s byte) bool { return s != 'T' })
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	// Kill takes a paused process too.
	err = p.Kill()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("Kill: %v, want killed by SIGKILL", err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal after exit: %v, want nil", err)
	}
}

func TestLogTail(t *testing.T) {
	l := &Log{tail: 2}
	for _, s := range []string{"a", "b", "c"} {
		l.add(s)
	}
	if got := l.Tail(); got != "b\nc" {
		t.Errorf("Tail = %q", got)
	}
	if got := l.String(); got != "a\nb\nc" {
		t.Errorf("String = %q", got)
	}
	if l.raced() {
		t.Error("raced without a race report")
	}
	l.add("==================")
	l.add("WARNING: DATA RACE")
	if !l.raced() {
		t.Error("a race report not seen")
	}
}

func TestBuildFlags(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want string
	}{{"", ""}, {"0", ""}, {"1", "-race"}} {
		t.Setenv("METRICSD_TEST_RACE", tt.env)
		if got := strings.Join(BuildFlags(), " "); got != tt.want {
			t.Errorf("METRICSD_TEST_RACE=%q: flags %q, want %q", tt.env, got, tt.want)
		}
	}
}

// waitState polls /proc until the process's state letter ('T' for
// stopped) satisfies ok, failing after DefaultTimeout.
func waitState(t *testing.T, pid int, what string, ok func(state byte) bool) {
	t.Helper()
	deadline := time.Now().Add(DefaultTimeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name in parentheses.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && ok(b[i+2]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not %s: %s", pid, what, b)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}
