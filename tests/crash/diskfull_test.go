package crash

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips the
// test (it needs root, or CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("cannot mount a tmpfs for the disk-full test (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", path, err)
			}
			return
		}
	}
}

// readyz returns /readyz's status and body.
func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: testTimeout}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestDiskFull is issue #11.4 on a real full file system: while the data
// directory's disk is full, puts are refused with the fixed error and
// /readyz says so; once space is freed, puts are taken again without a
// restart, /readyz turns 200, and after SIGKILL every acknowledged put is
// back.
func TestDiskFull(t *testing.T) {
	for _, mode := range []string{"always", "interval"} {
		t.Run(mode, func(t *testing.T) {
			mnt := mountTmpfs(t, 1<<20)
			data := filepath.Join(mnt, "data")
			flags := []string{"--data-dir", data, "--fsync", mode, "--snapshot-interval", "-1s", "--http-addr", "127.0.0.1:0"}
			srv := startServer(t, flags...)
			httpAddr := srv.httpAddr(t)
			c, err := dial(srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.c.Close()
			want := &expected{cells: map[string]map[int64]string{}}
			ts := int64(0)
			// put sends one put and reports whether it was acknowledged; a
			// refusal must be the fixed text.
			put := func() bool {
				t.Helper()
				ts++
				v := fmt.Sprintf("%d.25", ts)
				ans, err := c.do(fmt.Sprintf("put disk.k %s %d", v, ts))
				switch {
				case err != nil:
					t.Fatal(err)
				case ans == "ok\n\n":
					want.put("disk.k", ts, v)
					return true
				case ans != "error\nstorage failed\n\n":
					t.Fatalf("a put on a full disk answered %q, want the fixed text", ans)
				}
				return false
			}
			for range 100 {
				if !put() {
					t.Fatal("a put failed before the disk was full")
				}
			}
			filler := filepath.Join(mnt, "filler")
			fill(t, filler)
			refused := 0
			deadline := time.Now().Add(testTimeout)
			for refused < 20 {
				if !put() {
					refused++
				}
				if time.Now().After(deadline) {
					t.Fatalf("only %d puts refused on a full disk in %v", refused, testTimeout)
				}
			}
			if code, body := readyz(t, httpAddr); code != http.StatusServiceUnavailable || !strings.Contains(body, "storage failed") {
				t.Fatalf("/readyz on a full disk = %d %q", code, body)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			deadline = time.Now().Add(testTimeout)
			for !put() {
				if time.Now().After(deadline) {
					t.Fatalf("puts still refused %v after space was freed:\n%s", testTimeout, srv.Log())
				}
				time.Sleep(10 * time.Millisecond) // the writer retries with backoff; poll
			}
			for range 100 {
				if !put() {
					t.Fatal("a put failed after space was freed")
				}
			}
			if code, body := readyz(t, httpAddr); code != http.StatusOK {
				t.Fatalf("/readyz after space was freed = %d %q", code, body)
			}
			srv.Kill()
			srv, err = tryStart(t, flags...)
			if err != nil {
				t.Fatalf("restart after SIGKILL: %v", err)
			}
			if got := getAll(t, srv.addr); got != want.answer() {
				t.Fatalf("after restart get * answered\n%s\nwant\n%s", got, want.answer())
			}
			srv.stop(t)
		})
	}
}
