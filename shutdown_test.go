package metricsd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"metricsd/internal/testnet"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRunDropsStragglersWithoutFailing cancels Run while a protocol client
// holds a half-sent request and a POST /render waits for its body: Run
// returns nil after ShutdownGrace (the drop is a warning), while Shutdown
// called directly still reports ctx's error, as net/http's does.
func TestRunDropsStragglersWithoutFailing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownGrace = 200 * time.Millisecond
	var logs testnet.LogBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	deadline := time.Now().Add(testTimeout)
	for srv.HTTPAddr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("HTTP API never listened")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	c, err := net.DialTimeout("tcp", srv.HTTPAddr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	// With "Expect: 100-continue" net/http answers 100 when the handler
	// starts reading the body: the request is then surely in flight.
	if _, err := io.WriteString(c, "POST /render HTTP/1.1\r\nHost: m\r\nExpect: 100-continue\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("no 100 Continue: %q, %v", line, err)
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run after dropping a straggler = %v, want nil", err)
		}
		if !strings.Contains(logs.String(), `level=WARN msg="shutdown grace period ended`) {
			t.Errorf("no warning about the dropped request; log:\n%s", logs.String())
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return")
	}
	// Shutdown again, with an ended context: nothing is left, so nil.
	done, stop := context.WithCancel(context.Background())
	stop()
	if err := srv.Shutdown(done); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("second Shutdown = %v", err)
	}
}

func TestShutdownGraceMustNotBeNegative(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShutdownGrace = -time.Second
	if _, err := NewServer(cfg); err == nil {
		t.Error("NewServer with a negative shutdown grace succeeded")
	}
}
