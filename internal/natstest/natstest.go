// Package natstest runs real NATS servers with JetStream for tests: one
// server or a cluster of them as separate processes on loopback, built from
// the go.mod tool directive (go tool nats-server), so that the tests run the
// pinned server version and can kill, pause and restart a server like an
// operator or a crash would.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Timeout bounds every wait of this package: building the server, a server
// coming up, a meta leader being elected, a server stopping.
const Timeout = 30 * time.Second

// buildTimeout bounds building nats-server the first time (about a minute
// on a busy 2-core machine; the go build cache makes later runs instant).
const buildTimeout = 5 * time.Minute

var binary struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the pinned nats-server, building it on first
// use. go tool -n builds the tool into the build cache and prints its path
// without running it. NATS_SERVER names another binary instead, to run the
// same tests against another version (Debian's /usr/sbin/nats-server).
func Binary() (string, error) {
	binary.once.Do(func() {
		if path := os.Getenv("NATS_SERVER"); path != "" {
			binary.path = path
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "tool", "-n", "nats-server").Output()
		if err != nil {
			binary.err = fmt.Errorf("natstest: go tool -n nats-server: %w", err)
			return
		}
		binary.path = strings.TrimSpace(string(out))
	})
	return binary.path, binary.err
}

// Server is one nats-server process.
type Server struct {
	Name string
	// URL is the server's client URL, nats://127.0.0.1:PORT.
	URL string

	conf    string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Cluster is a set of servers routed to each other (or one server alone).
type Cluster struct {
	Servers []*Server
}

// Start starts n JetStream servers on loopback (n = 1: a server without
// clustering), waits until JetStream answers on every one of them (a meta
// leader has been elected), and stops them all when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	c := &Cluster{}
	for i := range n {
		s := &Server{
			Name:    fmt.Sprintf("n%d", i+1),
			URL:     fmt.Sprintf("nats://127.0.0.1:%d", ports[i]),
			conf:    filepath.Join(dir, fmt.Sprintf("n%d.conf", i+1)),
			logPath: filepath.Join(dir, fmt.Sprintf("n%d.log", i+1)),
		}
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n}\n",
			s.Name, ports[i], filepath.Join(dir, s.Name))
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: metricsd-test\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
				ports[n+i], strings.Join(routes, ", "))
		}
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Servers = append(c.Servers, s)
	}
	t.Cleanup(func() {
		for _, s := range c.Servers {
			s.stop()
		}
		if t.Failed() {
			for _, s := range c.Servers {
				s.dumpLog(t)
			}
		}
	})
	for _, s := range c.Servers {
		if err := s.start(bin); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range c.Servers {
		if err := s.WaitJetStream(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// URLs is every server's client URL, comma-separated as metricsd's
// --cluster flag takes them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL)
	}
	return strings.Join(urls, ",")
}

// JetStream connects a test's client to the cluster, reconnecting through
// server restarts, closed when the test ends; opts configure its
// JetStream context.
func (c *Cluster) JetStream(t testing.TB, opts ...jetstream.JetStreamOpt) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// ServerNamed returns the server called name, or nil.
func (c *Cluster) ServerNamed(name string) *Server {
	for _, s := range c.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (s *Server) start(bin string) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("natstest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-c", s.conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("natstest: start %s: %w", s.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// WaitJetStream polls the server until its JetStream answers an account
// info request, which needs a meta leader in a cluster.
func (s *Server) WaitJetStream() error {
	deadline := time.Now().Add(Timeout)
	var last error
	for time.Now().Before(deadline) {
		last = s.jetStreamReady()
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	return fmt.Errorf("natstest: %s: JetStream not ready after %v: %w", s.Name, Timeout, last)
}

func (s *Server) jetStreamReady() error {
	nc, err := nats.Connect(s.URL, nats.Timeout(time.Second), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// Kill ends the server with SIGKILL and waits until it has exited.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Restart starts a killed or stopped server again with its data and waits
// until its JetStream answers.
func (s *Server) Restart() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
	default:
		// A second process would fail on the ports and leave this one
		// running past the test.
		return fmt.Errorf("natstest: restart %s: it is still running", s.Name)
	}
	bin, err := Binary()
	if err != nil {
		return err
	}
	if err := s.start(bin); err != nil {
		return err
	}
	return s.WaitJetStream()
}

// stop ends the server with SIGTERM, then SIGKILL if it is still running
// after Timeout.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot act on SIGTERM
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(Timeout):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// dumpLog logs the tail of the server's log, for a failed test.
func (s *Server) dumpLog(t testing.TB) {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return
	}
	const tail = 4 << 10
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	t.Logf("nats-server %s log (tail):\n%s", s.Name, b)
}

// freePorts returns n distinct free loopback ports: each listener is kept
// open until all are chosen so that none is chosen twice.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natstest: pick a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
