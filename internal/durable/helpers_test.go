package durable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start opens and recovers an engine on cfg.Dir, closing it at cleanup.
func start(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// startErr opens an engine on cfg.Dir and returns Start's error.
func startErr(t testing.TB, cfg Config) error {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = e.Start(context.Background())
	if cerr := e.Close(); err == nil && cerr != nil {
		t.Fatalf("Close: %v", cerr)
	}
	return err
}

// closeEngine closes e and fails the test on error.
func closeEngine(t testing.TB, e *Engine) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// put stores one point and fails the test on error.
func put(t testing.TB, s store.Storage, key string, ts int64, v float64) {
	t.Helper()
	if err := s.Put([]byte(key), store.Point{Timestamp: ts, Value: v}); err != nil {
		t.Fatalf("Put(%q, %d, %v): %v", key, ts, v, err)
	}
}

// dump renders everything All visits, exactly (value bits included), in
// visit order: two stores with equal dumps answer every get identically.
func dump(t testing.TB, s store.Storage) string {
	t.Helper()
	var b bytes.Buffer
	err := s.All(func(key []byte, pts []store.Point) error {
		for _, p := range pts {
			fmt.Fprintf(&b, "%q %d %016x\n", key, p.Timestamp, math.Float64bits(p.Value))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	return b.String()
}

// workload puts a mix that exercises what a restart must keep: several
// keys in a known first-insertion order, out-of-order timestamps,
// overwrites (last write wins), special values, odd keys.
func workload(t testing.TB, s store.Storage, n int) {
	t.Helper()
	keys := []string{"cpu", "mem", "disk \xff", "", "k\x00", "palm.cpu"}
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.1 + 0.2, 1e300}
	for i := range n {
		k := keys[i%len(keys)]
		ts := int64(1_500_000_000 + (i*7919)%(n/2+1)) // revisits timestamps: overwrites
		v := float64(i) / 4
		if i%13 == 0 {
			v = specials[(i/13)%len(specials)]
		}
		put(t, s, k, ts, v)
	}
}

// copyDir copies the files of src into a new directory, as they are at
// this moment: what a machine that lost power right now would find, as
// far as written data goes.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

// segments lists the log segment names in dir.
func segments(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

var errInjected = errors.New("injected disk fault")

// faultyFS opens segment files whose writes and fsyncs fail on demand, and
// can hold fsyncs until released, to observe group commit.
type faultyFS struct {
	mu        sync.Mutex
	failWrite bool
	failSync  bool
	syncs     int
	gate      chan struct{} // if not nil, each Sync waits for a receive
}

func (fs *faultyFS) open(name string, flag int, perm os.FileMode) (wal.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: f, fs: fs}, nil
}

func (fs *faultyFS) set(fn func(*faultyFS)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fn(fs)
}

func (fs *faultyFS) syncCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.syncs
}

type faultyFile struct {
	*os.File
	fs *faultyFS
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	fail := f.fs.failWrite
	f.fs.mu.Unlock()
	if fail {
		n, _ := f.File.Write(p[:len(p)/2]) // a short write, as on a full disk
		return n, errInjected
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	f.fs.mu.Lock()
	f.fs.syncs++
	fail, gate := f.fs.failSync, f.fs.gate
	f.fs.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail {
		return errInjected
	}
	return f.File.Sync()
}
