package metricsd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"metricsd/internal/testnet"
	"metricsd/internal/wal"
)

// failingSegment is a log segment whose writes fail once fail is set, as
// on a full or broken disk.
type failingSegment struct {
	*os.File
	fail *atomic.Bool
}

func (f failingSegment) Write(p []byte) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("injected: no space left on device")
	}
	return f.File.Write(p)
}

// TestDiskFailureAnswersAFixedText: a put refused because the disk failed
// is answered "storage failed", never the error's detail (which names
// files); the detail goes to the log (issue #10.6).
func TestDiskFailureAnswersAFixedText(t *testing.T) {
	var fail atomic.Bool
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Fsync = FsyncAlways
	var logs testnet.LogBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.openSegment = func(name string, flag int, perm os.FileMode) (wal.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return failingSegment{f, &fail}, nil
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s := dialSession(t, ln.Addr().String())
	if got := s.ask("put k 1 1"); got != "ok\n\n" {
		t.Fatalf("put answered %q", got)
	}
	fail.Store(true)
	for _, req := range []string{"put k 2 2", "put new 1 1"} {
		if got := s.ask(req); got != "error\nstorage failed\n\n" {
			t.Fatalf("%q after the disk failed answered %q, want the fixed text", req, got)
		}
	}
	if !strings.Contains(logs.String(), "write segment 00000000: injected: no space left on device") {
		t.Errorf("the log does not say what failed:\n%s", logs.String())
	}
	if got := s.ask("get *"); got != "ok\nk 1.0 1\n\n" {
		t.Fatalf("get * = %q, want only the acknowledged point", got)
	}
	// A failed engine writes no final snapshot, and says so.
	if err := srv.Shutdown(context.Background()); err == nil || !strings.Contains(err.Error(), "storage failed") {
		t.Errorf("Shutdown = %v, want the storage failure", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
