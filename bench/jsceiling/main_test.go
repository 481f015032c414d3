package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"metricsd/internal/natstest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error; "" for valid
	}{
		{[]string{"--urls", "nats://127.0.0.1:1"}, ""},
		{[]string{}, "--urls is required"},
		{[]string{"--urls", "nats://a", "--points", "1,x"}, "--points"},
		{[]string{"--urls", "nats://a", "--points", "3000"}, "64 KiB"},
		{[]string{"--urls", "nats://a", "--modes", "sync,batch"}, "--modes"},
		{[]string{"--urls", "nats://a", "--streams", "8", "--subjects", "4"}, "streams"},
		{[]string{"--urls", "nats://a", "-c", "0"}, "must be positive"},
		{[]string{"--urls", "nats://a", "extra"}, "unexpected argument"},
	}
	for _, tc := range tests {
		_, err := parseFlags(tc.args, io.Discard)
		if tc.want == "" && err != nil {
			t.Errorf("%q: %v, want valid", tc.args, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want an error about %q", tc.args, err, tc.want)
		}
	}
}

// TestRunCountsAcks runs every mode briefly against one real NATS server
// (R1 streams): each measurement's acks are what landed in the streams,
// its CPU figure comes from the server's /proc entry, and the streams are
// gone afterwards.
func TestRunCountsAcks(t *testing.T) {
	c := natstest.Start(t, 1)
	pid := natsPID(t, c)
	cfg, err := parseFlags([]string{"--urls", c.URLs(), "--replicas", "1", "--streams", "2", "--subjects", "4",
		"-c", "4", "--window", "16", "--duration", "300ms", "--points", "1,16", "--json",
		"--pids", strconv.Itoa(pid)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), natstest.Timeout)
	defer cancel()
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	var total int64
	sc := bufio.NewScanner(&out)
	rows := 0
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows++
		if r.Acks <= 0 || r.AcksPerSecond <= 0 || r.P50us <= 0 || r.P99us < r.P50us || r.MsgBytes != r.Points*pointBytes {
			t.Errorf("measurement %+v: want acks, ordered latencies, msg_bytes = points × %d", r, pointBytes)
		}
		if r.PidsCPUus < 0 {
			t.Errorf("measurement %+v: negative server CPU", r)
		}
		total += r.Acks
	}
	if rows != 4 {
		t.Fatalf("%d measurements, want 4 (2 modes × 2 sizes):\n%s", rows, out.String())
	}
	if total == 0 {
		t.Fatal("nothing acknowledged")
	}
	js := c.JetStream(t)
	for name := range js.StreamNames(ctx).Name() {
		t.Errorf("stream %s left behind", name)
	}
}

// natsPID finds the pid of the lone server: the process whose command line
// names its config file, which natstest keeps in the test's directory.
func natsPID(t *testing.T, c *natstest.Cluster) int {
	t.Helper()
	port := c.Servers[0].URL[strings.LastIndexByte(c.Servers[0].URL, ':')+1:]
	deadline := time.Now().Add(natstest.Timeout)
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			conf, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil || !bytes.Contains(conf, []byte("nats-server")) {
				continue
			}
			args := bytes.Split(conf, []byte{0})
			if len(args) < 3 {
				continue
			}
			text, err := os.ReadFile(string(args[2]))
			if err == nil && bytes.Contains(text, []byte("127.0.0.1:"+port+"\n")) {
				return pid
			}
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	t.Fatal("no nats-server process with the test's config")
	return 0
}
