package metricsd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"metricsd/client"
	"metricsd/internal/testnet"
)

// startUDPEcoServer is startEcoServer with the Graphite UDP listener on
// 127.0.0.1:0 too; it returns the UDP address.
func startUDPEcoServer(t *testing.T) (*ecoServer, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.GraphiteAddr = "127.0.0.1:0"
	cfg.GraphiteUDPAddr = "127.0.0.1:0"
	e := startEcoServerWith(t, cfg)
	udp := e.srv.GraphiteUDPAddr()
	if udp == nil {
		t.Fatal("GraphiteUDPAddr is nil after the side listeners started")
	}
	return e, udp.String()
}

// dialProto connects a client to the protocol port until the test ends.
func (e *ecoServer) dialProto(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := client.Dial(ctx, e.proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGraphiteUDPLandsInTheStore(t *testing.T) {
	e, udpAddr := startUDPEcoServer(t)
	before := e.scrape(t)
	conn, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("udp.a 1 1500000000\nnot a graphite line\nudp.b 2.5 1500000000")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	all := waitForGet(t, ctx, e.dialProto(t), func(all map[string][]client.Point) bool {
		return len(all["udp.a"]) == 1 && len(all["udp.b"]) == 1
	})
	if got := fmt.Sprint(all["udp.b"]); got != "[{1500000000 2.5}]" {
		t.Errorf("udp.b = %s", got)
	}
	after := e.scrape(t)
	for _, m := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"metricsd_graphite_points_stored_total", []string{"transport", "udp"}, 2},
		{"metricsd_graphite_lines_dropped_total", []string{"reason", "format", "transport", "udp"}, 1},
		{"metricsd_graphite_points_stored_total", []string{"transport", "tcp"}, 0},
	} {
		if got := sample(after, m.family, m.labels...) - sample(before, m.family, m.labels...); got != m.want {
			t.Errorf("%s%v moved by %v, want %v", m.family, m.labels, got, m.want)
		}
	}
}

func TestGraphiteUDPBindFailure(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.GraphiteUDPAddr = taken.LocalAddr().String()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe(); err == nil || !strings.Contains(err.Error(), "Graphite UDP") {
		t.Fatalf("ListenAndServe with the UDP port taken = %v, want a Graphite UDP bind error", err)
	}
}

// collectdConfig is a collectd configuration that reads the load average
// every second and writes it with write_graphite to both of metricsd's
// Graphite ports, one prefix per transport.
const collectdConfig = `Hostname "metricsd-test"
FQDNLookup false
Interval 1
BaseDir %[1]q
PIDFile %[2]q
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File %[3]q
</Plugin>
LoadPlugin load
# write_graphite buffers a TCP node's lines until about 1.4 kB are pending;
# flushing every second keeps the test short.
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
<Plugin write_graphite>
  <Node "udp">
    Host "127.0.0.1"
    Port "%[4]d"
    Protocol "udp"
    Prefix "viaudp."
  </Node>
  <Node "tcp">
    Host "127.0.0.1"
    Port "%[5]d"
    Protocol "tcp"
    Prefix "viatcp."
  </Node>
</Plugin>
`

// TestCollectdWriteGraphite runs Debian's collectd against metricsd's
// Graphite UDP and TCP ports on loopback and waits until its load-average
// lines have landed through both. collectd must be installed under CI
// (.ci/run installs it); elsewhere the test skips without it.
func TestCollectdWriteGraphite(t *testing.T) {
	bin, err := exec.LookPath("collectd")
	if err != nil { // Debian installs it in /usr/sbin, which a user's PATH may lack
		bin, err = exec.LookPath("/usr/sbin/collectd")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("collectd is not installed; .ci/run installs it (apt-get install collectd-core)")
		}
		t.Skip("collectd is not installed (apt-get install collectd-core); skipping the live collectd test")
	}
	e, udpAddr := startUDPEcoServer(t)
	dir := t.TempDir()
	udpPort := e.srv.GraphiteUDPAddr().(*net.UDPAddr).Port
	tcpPort := e.srv.GraphiteAddr().(*net.TCPAddr).Port
	conf := filepath.Join(dir, "collectd.conf")
	logFile := filepath.Join(dir, "collectd.log")
	body := fmt.Sprintf(collectdConfig, dir, filepath.Join(dir, "collectd.pid"), logFile, udpPort, tcpPort)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-C", conf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start collectd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := e.dialProto(t)
	deadline := time.Now().Add(testTimeout)
	for {
		all, err := c.Get(ctx, "*")
		if err != nil {
			t.Fatalf("get *: %v", err)
		}
		got := map[string]bool{}
		for key := range all {
			for _, prefix := range []string{"viaudp.metricsd-test.load.", "viatcp.metricsd-test.load."} {
				if strings.HasPrefix(key, prefix) {
					got[prefix] = true
				}
			}
		}
		if len(got) == 2 {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("collectd's lines never landed through both ports (udp %s); keys %v; collectd log:\n%s", udpAddr, keysOf(all), log)
		}
		time.Sleep(50 * time.Millisecond) // poll interval: collectd writes every second
	}
}

// keysOf lists the keys of all, for a failure message.
func keysOf(all map[string][]client.Point) []string {
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	return keys
}

// TestWarnIfPublic checks the start-up warning for listeners beyond
// loopback, TCP and UDP alike (addresses built, nothing bound).
func TestWarnIfPublic(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		warn bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2003}, false},
		{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2003}, false},
		{&net.UDPAddr{IP: net.IPv6loopback, Port: 2003}, false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 2003}, true},
		{&net.UDPAddr{IP: net.IPv4zero, Port: 2003}, true},
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 2003}, true},
	} {
		var logs testnet.LogBuffer
		s := &side{log: slog.New(slog.NewTextHandler(&logs, nil))}
		s.warnIfPublic(tc.addr, "Graphite plaintext over UDP")
		if got := strings.Contains(logs.String(), "level=WARN"); got != tc.warn {
			t.Errorf("%T %v: warned %v, want %v", tc.addr, tc.addr, got, tc.warn)
		}
	}
}
