package crash

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// damageSession puts n points under --fsync=always, each acknowledged,
// kills the server and returns the data directory and `get *` before the
// kill.
func damageSession(t *testing.T, n int, flags ...string) (dir, before string) {
	t.Helper()
	dir = t.TempDir()
	srv := startServer(t, append([]string{"--data-dir", dir, "--fsync", "always"}, flags...)...)
	c, err := dial(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := c.put(fmt.Sprintf("k%d", i%7), fmt.Sprint(i), int64(1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	c.c.Close()
	before = getAll(t, srv.addr)
	srv.Kill()
	return dir, before
}

// lastSegment is the path of the last log segment in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "wal", "[0-9]*"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return segs[len(segs)-1]
}

var repaired = regexp.MustCompile(`repaired .*: dropped (\d+) records \((\d+) points counted\), (\d+) bytes; moved to (\S+)`)

// TestBitFlipInTheLastRecordThenRepair is #11.4's first case through the
// binary: a bit flipped in the last record of the log, which was
// acknowledged under --fsync=always, stops the start with the file, the
// offset and the way out; metricsd repair moves the record aside and the
// server starts with every other point.
func TestBitFlipInTheLastRecordThenRepair(t *testing.T) {
	dir, before := damageSession(t, 50)
	seg := lastSegment(t, dir)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-3] ^= 0x10
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = tryStart(t, "--data-dir", dir)
	if err == nil {
		t.Fatal("the server started on a log whose last record is damaged")
	}
	for _, want := range []string{"corrupt data in " + seg + " at offset", "checksum mismatch in a complete record", "metricsd repair --data-dir " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("startup error does not say %q:\n%v", want, err)
		}
	}

	out, err := exec.Command(bin.Path, "repair", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("metricsd repair: %v\n%s", err, out)
	}
	m := repaired.FindSubmatch(out)
	if m == nil || string(m[1]) != "1" {
		t.Fatalf("repair output does not report one dropped record:\n%s", out)
	}
	side, err := os.ReadFile(filepath.Join(string(m[4]), "wal", filepath.Base(seg)+".dropped"))
	if err != nil || !bytes.HasSuffix(data, side) || fmt.Sprint(len(side)) != string(m[3]) {
		t.Fatalf("side file: %d bytes, %v; want the %s damaged bytes that ended the segment", len(side), err, m[3])
	}

	srv := startServer(t, "--data-dir", dir)
	after := getAll(t, srv.addr)
	// The last put (k0 49 1049... i=49: k0) is the one dropped.
	if want := strings.Replace(before, "k0 49.0 1049\n", "", 1); after != want {
		t.Fatalf("after repair:\n%s\nwant everything but the last put:\n%s", after, want)
	}
	srv.stop(t)
	if out, err := exec.Command(bin.Path, "repair", "--data-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "nothing to repair") {
		t.Fatalf("a second repair: %v\n%s", err, out)
	}
}

// TestDeletedSnapshotIsNamed is #11.4's deleted snapshot through the
// binary: the message says a snapshot is missing (not "segment missing:
// expected 00000000"), and repair is refused while a server holds the
// directory.
func TestDeletedSnapshotIsNamed(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--fsync", "always"}
	for round := range 3 { // three snapshots, at each graceful stop
		srv := startServer(t, args...)
		c, err := dial(srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.put(fmt.Sprintf("round%d", round), "1", 1); err != nil {
			t.Fatal(err)
		}
		c.c.Close()
		srv.stop(t)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshot-*"))
	if len(snaps) != 2 {
		t.Fatalf("snapshots on disk: %v, want the newest two", snaps)
	}
	for _, s := range snaps {
		if err := os.Remove(s); err != nil {
			t.Fatal(err)
		}
	}
	_, err := tryStart(t, args...)
	if err == nil || !strings.Contains(err.Error(), "snapshot missing") || strings.Contains(err.Error(), "expected 00000000") ||
		!strings.Contains(err.Error(), "metricsd repair --data-dir "+dir) {
		t.Fatalf("startup without its snapshots: %v", err)
	}
	if out, err := exec.Command(bin.Path, "repair", "--data-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "wrote the empty snapshot") {
		t.Fatalf("metricsd repair: %v\n%s", err, out)
	}
	srv := startServer(t, args...)
	out, err := exec.Command(bin.Path, "repair", "--data-dir", dir).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "in use by another metricsd") {
		t.Fatalf("repair beside a running server: exit %d\n%s", code, out)
	}
	srv.stop(t)
}

// exitCode is the exit status in err from exec (0 for nil).
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// httpAddr is the address in the server's "http listening" line. The
// HTTP API is up before the protocol port, but logs that line from its own
// goroutine, so it may trail "metricsd listening": Addr waits for it.
func (s *server) httpAddr(t *testing.T) string {
	t.Helper()
	addr, err := s.Addr("http")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestDeleteSurvivesSIGKILL deletes keys through `metricsd delete`, kills
// the server and restarts it, under each fsync mode, with and without a
// snapshot after the delete: the keys stay deleted, and a key put again
// after the delete comes last.
func TestDeleteSurvivesSIGKILL(t *testing.T) {
	for _, mode := range []string{"always", "interval", "never"} {
		for _, snap := range []bool{false, true} {
			name := mode
			if snap {
				name += "/snapshot after the delete"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				args := []string{"--data-dir", dir, "--fsync", mode, "--http-addr", "127.0.0.1:0"}
				srv := startServer(t, args...)
				c, err := dial(srv.addr)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"web.a.cpu", "web.b.cpu", "evil", "web.a.mem"} {
					if err := c.put(k, "1", 1); err != nil {
						t.Fatal(err)
					}
				}
				for glob, n := range map[string]string{"web.*.cpu": "2\n", "evil": "1\n"} {
					out, err := exec.Command(bin.Path, "delete", "--http-addr", srv.httpAddr(t), glob).CombinedOutput()
					if err != nil || string(out) != n {
						t.Fatalf("metricsd delete %s: %v, %q; want %q", glob, err, out, n)
					}
				}
				if err := c.put("evil", "2", 2); err != nil {
					t.Fatal(err)
				}
				c.c.Close()
				if snap { // a graceful stop snapshots; then a kill of the next run
					srv.stop(t)
					srv = startServer(t, args...)
				}
				want := "ok\nweb.a.mem 1.0 1\nevil 2.0 2\n\n"
				if got := getAll(t, srv.addr); got != want {
					t.Fatalf("before the kill: %q, want %q", got, want)
				}
				srv.Kill()
				srv = startServer(t, args...)
				if got := getAll(t, srv.addr); got != want {
					t.Fatalf("after SIGKILL and restart: %q, want %q", got, want)
				}
				srv.stop(t)
			})
		}
	}
}
